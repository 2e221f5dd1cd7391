# lesson: 07-masquerade
# A user chain reached by a jump, with a RETURN for traffic that stays inside.
iptables -t nat -N CNLAB-NAT
iptables -t nat -A POSTROUTING -j CNLAB-NAT
iptables -t nat -A CNLAB-NAT -d 172.18.0.0/16 -j RETURN
iptables -t nat -A CNLAB-NAT -s 172.18.0.0/16 -j MASQUERADE
