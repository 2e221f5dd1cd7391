# lesson: 05
# cause: prefix-wrong
# base: base4
# br0 gets 172.18.0.1/32: the host has no route to the containers.
ip addr add 172.18.0.1/32 dev br0
ip -n netns0 route add default via 172.18.0.1
ip -n netns1 route add default via 172.18.0.1
