# lesson: 02
# cause: link-wrong-netns
# base: 
# The container's end was never moved: ceth0 stays on the host and gets the container's address there.
ip netns add netns0
ip link add veth0 type veth peer name ceth0
ip link set veth0 up
ip addr add 172.18.0.11/16 dev veth0
ip link set ceth0 up
ip addr add 172.18.0.10/16 dev ceth0
