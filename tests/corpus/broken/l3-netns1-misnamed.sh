# lesson: 03
# cause: netns-missing
# base: base2
# The second namespace is called netns2.
# End of lesson 3, by hand: a second container the same way (and the route clash).
ip netns add netns2
ip link add veth1 type veth peer name ceth1
ip link set ceth1 netns netns2
ip link set veth1 up
ip addr add 172.18.0.21/16 dev veth1
ip -n netns2 link set lo up
ip -n netns2 link set ceth1 up
ip -n netns2 addr add 172.18.0.20/16 dev ceth1
