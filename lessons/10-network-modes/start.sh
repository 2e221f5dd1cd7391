#!/usr/bin/env bash
# End of lesson 8: {{ ns0 }} and {{ ns1 }} on {{ bridge }}, masqueraded; the web server in
# {{ ns0 }} published on {{ host_ip }}:{{ port }}. (Lesson 9's firewall plays no part here.)
{% include "08-port-publishing/start.sh" %}
iptables -t nat -A PREROUTING -d {{ host_ip }} -p tcp -m tcp --dport {{ port }} -j DNAT --to-destination {{ ns0_ip }}:{{ port }}
iptables -t nat -A OUTPUT -d {{ host_ip }} -p tcp -m tcp --dport {{ port }} -j DNAT --to-destination {{ ns0_ip }}:{{ port }}
ip netns exec {{ ns0 }} python3 -m http.server --bind {{ ns0_ip }} {{ port }} >/dev/null 2>&1 &
for i in $(seq 50); do ip netns exec {{ ns0 }} ss -ltn | grep -q ":{{ port }} " && break; sleep 0.1; done
