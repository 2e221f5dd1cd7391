#!/usr/bin/env bash
# End of lesson 4: {{ ns0 }} and {{ ns1 }} plugged into the bridge {{ bridge }} through
# {{ veth0 }} and {{ veth1 }}, which have no IP address. The bridge has none either.
iptables -N ROOT_NS
ip -batch - <<'BATCH'
netns add {{ ns0 }}
netns add {{ ns1 }}
link add {{ bridge }} type bridge
link set {{ bridge }} up
link add {{ veth0 }} type veth peer name {{ ceth0 }} netns {{ ns0 }}
link add {{ veth1 }} type veth peer name {{ ceth1 }} netns {{ ns1 }}
link set {{ veth0 }} master {{ bridge }} up
link set {{ veth1 }} master {{ bridge }} up
BATCH
ip -n {{ ns0 }} -batch - <<'BATCH'
link set lo up
link set {{ ceth0 }} up
addr add {{ ns0_ip }}/{{ prefix }} dev {{ ceth0 }}
BATCH
ip -n {{ ns1 }} -batch - <<'BATCH'
link set lo up
link set {{ ceth1 }} up
addr add {{ ns1_ip }}/{{ prefix }} dev {{ ceth1 }}
BATCH
