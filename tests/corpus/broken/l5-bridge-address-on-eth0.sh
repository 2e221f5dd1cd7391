# lesson: 05
# cause: address-missing
# base: base4
# The gateway address went on eth0 instead of br0.
ip addr add 172.18.0.1/16 dev eth0
ip -n netns0 route add default via 172.18.0.1
ip -n netns1 route add default via 172.18.0.1
