# lesson: 05
# cause: gateway-missing
# base: base4
# Forgot netns1's default route.
ip addr add 172.18.0.1/16 dev br0
ip -n netns0 route add default via 172.18.0.1
