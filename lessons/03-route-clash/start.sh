#!/usr/bin/env bash
# End of lesson 2: {{ ns0 }} is connected to the host by {{ veth0 }}/{{ ceth0 }}, both addressed.
{% from "_macros.j2" import container_end with context -%}
iptables -N ROOT_NS
ip netns add {{ ns0 }}
ip -batch - <<'BATCH'
link add {{ veth0 }} type veth peer name {{ ceth0 }} netns {{ ns0 }}
link set {{ veth0 }} up
addr add {{ veth0_ip }}/{{ prefix }} dev {{ veth0 }}
BATCH
{{ container_end(ns0, ceth0, ns0_ip) }}
