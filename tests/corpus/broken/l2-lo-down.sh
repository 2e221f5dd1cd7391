# lesson: 02
# cause: link-down
# base: 
# Forgot loopback in netns0.
# End of lesson 2, by hand: netns0 joined to the host by veth0/ceth0.
ip netns add netns0
ip link add veth0 type veth peer name ceth0
ip link set ceth0 netns netns0
ip link set veth0 up
ip addr add 172.18.0.11/16 dev veth0
ip -n netns0 link set ceth0 up
ip -n netns0 addr add 172.18.0.10/16 dev ceth0
