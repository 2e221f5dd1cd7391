# lesson: 07
# cause: forward-blocked
# base: base4 base5 base6 base7
# FORWARD lets requests out but has no rule for the replies (conntrack ESTABLISHED).
iptables -P FORWARD DROP
iptables -A FORWARD -i br0 ! -o br0 -j ACCEPT
iptables -A FORWARD -i br0 -o br0 -j ACCEPT
