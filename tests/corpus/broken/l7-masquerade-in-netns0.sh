# lesson: 07
# cause: masquerade-missing
# base: base4 base5 base6
# The MASQUERADE rule typed inside netns0 instead of on the host.
ip netns exec netns0 iptables -t nat -A POSTROUTING -s 172.18.0.0/16 ! -o br0 -j MASQUERADE
