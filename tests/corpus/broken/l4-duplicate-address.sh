# lesson: 04
# cause: address-duplicate
# base: 
# Copy and paste: netns1 gets netns0's address.
# BASE4: end of lesson 4 built by hand: two containers on the bridge br0.
ip netns add netns0
ip netns add netns1
ip link add br0 type bridge
ip link set br0 up
ip link add veth0 type veth peer name ceth0 netns netns0
ip link add veth1 type veth peer name ceth1 netns netns1
ip link set veth0 master br0 up
ip link set veth1 master br0 up
ip -n netns0 link set lo up
ip -n netns0 link set ceth0 up
ip -n netns0 addr add 172.18.0.10/16 dev ceth0
ip -n netns1 link set lo up
ip -n netns1 link set ceth1 up
ip -n netns1 addr add 172.18.0.10/16 dev ceth1
