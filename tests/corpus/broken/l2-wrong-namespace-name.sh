# lesson: 02
# cause: netns-missing
# base: 
# The namespace is called container0, not netns0.
# End of lesson 2, by hand: container0 joined to the host by veth0/ceth0.
ip netns add container0
ip link add veth0 type veth peer name ceth0
ip link set ceth0 netns container0
ip link set veth0 up
ip addr add 172.18.0.11/16 dev veth0
ip -n container0 link set lo up
ip -n container0 link set ceth0 up
ip -n container0 addr add 172.18.0.10/16 dev ceth0
