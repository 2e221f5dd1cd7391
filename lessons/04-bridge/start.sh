#!/usr/bin/env bash
# End of lesson 3, clash included: {{ ns0 }} and {{ ns1 }} each joined to the host by a
# veth pair, both host ends addressed in {{ subnet }} (two routes for one network).
{% from "_macros.j2" import container_end with context -%}
iptables -N ROOT_NS
ip -batch - <<'BATCH'
netns add {{ ns0 }}
netns add {{ ns1 }}
link add {{ veth0 }} type veth peer name {{ ceth0 }} netns {{ ns0 }}
link add {{ veth1 }} type veth peer name {{ ceth1 }} netns {{ ns1 }}
link set {{ veth0 }} up
link set {{ veth1 }} up
addr add {{ veth0_ip }}/{{ prefix }} dev {{ veth0 }}
addr add {{ veth1_ip }}/{{ prefix }} dev {{ veth1 }}
BATCH
{{ container_end(ns0, ceth0, ns0_ip) }}
{{ container_end(ns1, ceth1, ns1_ip) }}
