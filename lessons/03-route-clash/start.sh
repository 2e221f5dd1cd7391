#!/usr/bin/env bash
# End of lesson 2: {{ ns0 }} is connected to the host by {{ veth0 }}/{{ ceth0 }}, both addressed.
iptables -N ROOT_NS
ip netns add {{ ns0 }}
ip -batch - <<'BATCH'
link add {{ veth0 }} type veth peer name {{ ceth0 }} netns {{ ns0 }}
link set {{ veth0 }} up
addr add {{ veth0_ip }}/{{ prefix }} dev {{ veth0 }}
BATCH
ip -n {{ ns0 }} -batch - <<'BATCH'
link set lo up
link set {{ ceth0 }} up
addr add {{ ns0_ip }}/{{ prefix }} dev {{ ceth0 }}
BATCH
