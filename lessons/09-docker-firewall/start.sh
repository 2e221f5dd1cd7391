#!/usr/bin/env bash
# End of lesson 8: port {{ port }} of {{ ns0 }} published on {{ host_ip }} (PREROUTING and
# OUTPUT DNAT), a web server running in {{ ns0 }}; every firewall policy is ACCEPT.
{% from "_macros.j2" import container_end with context -%}
{% include "08-port-publishing/start.sh" %}
iptables -t nat -A PREROUTING -d {{ host_ip }} -p tcp -m tcp --dport {{ port }} -j DNAT --to-destination {{ ns0_ip }}:{{ port }}
iptables -t nat -A OUTPUT -d {{ host_ip }} -p tcp -m tcp --dport {{ port }} -j DNAT --to-destination {{ ns0_ip }}:{{ port }}
ip netns exec {{ ns0 }} python3 -m http.server --bind {{ ns0_ip }} {{ port }} >/dev/null 2>&1 &
for i in $(seq 50); do ip netns exec {{ ns0 }} ss -ltn | grep -q ":{{ port }} " && break; sleep 0.1; done
# A second network, as `docker network create` makes one: {{ bridge2 }} ({{ bridge2_ip }}/{{ prefix }})
# with {{ ns2 }} ({{ ns2_ip }}) on it, routed and masqueraded like the first.
ip -batch - <<'BATCH'
netns add {{ ns2 }}
link add {{ bridge2 }} type bridge
addr add {{ bridge2_ip }}/{{ prefix }} dev {{ bridge2 }}
link set {{ bridge2 }} up
link add {{ veth2 }} type veth peer name {{ ceth2 }} netns {{ ns2 }}
link set {{ veth2 }} master {{ bridge2 }}
link set {{ veth2 }} up
BATCH
{{ container_end(ns2, ceth2, ns2_ip) }}
ip -n {{ ns2 }} route add default via {{ bridge2_ip }}
iptables -t nat -A POSTROUTING -s {{ subnet2 }} ! -o {{ bridge2 }} -j MASQUERADE
# A neighbour on a second network of the host ({{ lan_if }}, {{ lan_ip }}/24) that routes
# {{ subnet }} to the host, as any machine on a shared LAN can: it may try to reach the
# containers directly, without a published port.
ip -batch - <<'BATCH'
netns add {{ neighbour }}
link add {{ lan_if }} type veth peer name eth0 netns {{ neighbour }}
addr add {{ lan_ip }}/24 dev {{ lan_if }}
link set {{ lan_if }} up
BATCH
ip -n {{ neighbour }} -batch - <<'BATCH'
link set lo up
link set eth0 up
addr add {{ neighbour_ip }}/24 dev eth0
route add {{ subnet }} via {{ lan_ip }}
BATCH
