# lesson: 04
# cause: forward-blocked
# base: base4
# A Docker-style user chain that drops ICMP between containers.
iptables -N DOCKER-ISOLATION
iptables -A FORWARD -j DOCKER-ISOLATION
iptables -A DOCKER-ISOLATION -i br0 -o br0 -p icmp -j DROP
iptables -A DOCKER-ISOLATION -j RETURN
