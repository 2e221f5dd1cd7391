# lesson: 02
# cause: link-wrong-netns
# base: 
# Crossed ends: veth0 moved into netns0, ceth0 kept on the host.
ip netns add netns0
ip link add veth0 type veth peer name ceth0
ip link set veth0 netns netns0
ip link set ceth0 up
ip addr add 172.18.0.11/16 dev ceth0
ip -n netns0 link set lo up
ip -n netns0 link set veth0 up
ip -n netns0 addr add 172.18.0.10/16 dev veth0
