# lesson: 08
# cause: dnat-missing
# base: base4 base5 base6 base7 server
# Only the OUTPUT rule: clients from outside reach nothing.
iptables -t nat -A OUTPUT -d 10.0.2.15 -p tcp --dport 5000 -j DNAT --to-destination 172.18.0.10:5000
