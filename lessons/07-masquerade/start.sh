#!/usr/bin/env bash
# End of lesson 6: the containers on {{ bridge }} ({{ bridge_ip }}/{{ prefix }}) with default
# routes via {{ bridge_ip }}; the host forwards packets (ip_forward is 1). No NAT rule yet.
{% include "06-ip-forward/start.sh" %}
echo 1 > /proc/sys/net/ipv4/ip_forward
