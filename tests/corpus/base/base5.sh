# End of lesson 5: the bridge is the containers' gateway.
ip addr add 172.18.0.1/16 dev br0
ip -n netns0 route add default via 172.18.0.1
ip -n netns1 route add default via 172.18.0.1
