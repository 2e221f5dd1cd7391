# lesson: 08
# cause: dnat-wrong
# base: base4 base5 base6 base7 server
# DNAT sends the port to netns1 instead of netns0.
iptables -t nat -A PREROUTING -d 10.0.2.15 -p tcp --dport 5000 -j DNAT --to-destination 172.18.0.20:5000
iptables -t nat -A OUTPUT -d 10.0.2.15 -p tcp --dport 5000 -j DNAT --to-destination 172.18.0.20:5000
