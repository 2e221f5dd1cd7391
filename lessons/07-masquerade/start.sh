#!/usr/bin/env bash
# End of lesson 6: the containers on {{ bridge }} ({{ bridge_ip }}/{{ prefix }}) with default
# routes via {{ bridge_ip }}; the host forwards packets (ip_forward is 1). No NAT rule yet.
iptables -N ROOT_NS
ip -batch - <<'BATCH'
netns add {{ ns0 }}
netns add {{ ns1 }}
link add {{ bridge }} type bridge
link set {{ bridge }} up
addr add {{ bridge_ip }}/{{ prefix }} dev {{ bridge }}
link add {{ veth0 }} type veth peer name {{ ceth0 }} netns {{ ns0 }}
link add {{ veth1 }} type veth peer name {{ ceth1 }} netns {{ ns1 }}
link set {{ veth0 }} master {{ bridge }} up
link set {{ veth1 }} master {{ bridge }} up
BATCH
ip -n {{ ns0 }} -batch - <<'BATCH'
link set lo up
link set {{ ceth0 }} up
addr add {{ ns0_ip }}/{{ prefix }} dev {{ ceth0 }}
route add default via {{ bridge_ip }}
BATCH
ip -n {{ ns1 }} -batch - <<'BATCH'
link set lo up
link set {{ ceth1 }} up
addr add {{ ns1_ip }}/{{ prefix }} dev {{ ceth1 }}
route add default via {{ bridge_ip }}
BATCH
echo 1 > /proc/sys/net/ipv4/ip_forward
