# lesson: 05
# cause: gateway-wrong
# base: base4
# netns0's default route points at netns1, a container that does not route.
ip addr add 172.18.0.1/16 dev br0
ip -n netns0 route add default via 172.18.0.20
ip -n netns1 route add default via 172.18.0.1
