# lesson: 05-gateway
# 0.0.0.0/0 instead of default, `ip -n` in one namespace, `route replace` in the other.
ip address add 172.18.0.1/16 dev br0
ip -n netns0 route add 0.0.0.0/0 via 172.18.0.1 dev ceth0
ip netns exec netns1 ip route replace default via 172.18.0.1
