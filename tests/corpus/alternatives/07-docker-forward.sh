# lesson: 07-masquerade
# What installing Docker does to FORWARD (policy DROP), with Docker's own accept rules
# for its bridge, then the masquerade.
iptables -N DOCKER-USER
iptables -P FORWARD DROP
iptables -A FORWARD -j DOCKER-USER
iptables -A FORWARD -o br0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
iptables -A FORWARD -i br0 ! -o br0 -j ACCEPT
iptables -A FORWARD -i br0 -o br0 -j ACCEPT
iptables -A DOCKER-USER -j RETURN
iptables -t nat -A POSTROUTING -s 172.18.0.0/16 ! -o br0 -j MASQUERADE
