# lesson: 02-veth
# Address before up, `ip netns exec` for the inside, long option names.
ip link add name veth0 type veth peer name ceth0
ip link set dev ceth0 netns netns0
ip address add 172.18.0.11/16 dev veth0
ip link set dev veth0 up
ip netns exec netns0 ip address add 172.18.0.10/16 dev ceth0
ip netns exec netns0 ip link set dev ceth0 up
ip netns exec netns0 ip link set dev lo up
