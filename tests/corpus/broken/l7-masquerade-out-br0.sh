# lesson: 07
# cause: masquerade-missing
# base: base4 base5 base6
# MASQUERADE on the wrong interface: -o br0 instead of ! -o br0.
iptables -t nat -A POSTROUTING -s 172.18.0.0/16 -o br0 -j MASQUERADE
