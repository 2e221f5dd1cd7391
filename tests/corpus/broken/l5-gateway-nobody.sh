# lesson: 05
# cause: gateway-unreachable
# base: base4
# A typo in the gateway: nobody has 172.18.0.2.
ip addr add 172.18.0.1/16 dev br0
ip -n netns0 route add default via 172.18.0.2
ip -n netns1 route add default via 172.18.0.1
