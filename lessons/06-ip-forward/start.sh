#!/usr/bin/env bash
# End of lesson 5: the containers on {{ bridge }} ({{ bridge_ip }}/{{ prefix }}), each with a
# default route via {{ bridge_ip }}. The host does not forward packets yet (ip_forward is 0).
{% include "05-gateway/start.sh" %}
ip addr add {{ bridge_ip }}/{{ prefix }} dev {{ bridge }}
ip -n {{ ns0 }} route add default via {{ bridge_ip }}
ip -n {{ ns1 }} route add default via {{ bridge_ip }}
