# End of lesson 3, by hand: a second container the same way (and the route clash).
ip netns add netns1
ip link add veth1 type veth peer name ceth1
ip link set ceth1 netns netns1
ip link set veth1 up
ip addr add 172.18.0.21/16 dev veth1
ip -n netns1 link set lo up
ip -n netns1 link set ceth1 up
ip -n netns1 addr add 172.18.0.20/16 dev ceth1
