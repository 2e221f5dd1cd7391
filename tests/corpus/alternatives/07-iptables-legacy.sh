# lesson: 07-masquerade
# The legacy backend: invisible to iptables-nft, applied all the same.
iptables-legacy -t nat -A POSTROUTING -s 172.18.0.0/16 ! -o br0 -j MASQUERADE
