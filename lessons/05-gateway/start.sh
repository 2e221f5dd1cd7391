#!/usr/bin/env bash
# End of lesson 4: {{ ns0 }} and {{ ns1 }} plugged into the bridge {{ bridge }} through
# {{ veth0 }} and {{ veth1 }}, which have no IP address. The bridge has none either.
{% from "_macros.j2" import container_end with context -%}
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
{{ container_end(ns0, ceth0, ns0_ip) }}
{{ container_end(ns1, ceth1, ns1_ip) }}
