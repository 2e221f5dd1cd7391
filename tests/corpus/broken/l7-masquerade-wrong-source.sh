# lesson: 07
# cause: masquerade-missing
# base: base4 base5 base6
# MASQUERADE for the wrong network (172.19.0.0/16).
iptables -t nat -A POSTROUTING -s 172.19.0.0/16 ! -o br0 -j MASQUERADE
