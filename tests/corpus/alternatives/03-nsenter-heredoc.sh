# lesson: 03-route-clash
# The second container built through an nsenter shell, as the article does it.
ip netns add netns1
ip link add veth1 type veth peer name ceth1
ip link set ceth1 netns netns1
ip link set veth1 up
ip addr add 172.18.0.21/16 dev veth1
nsenter --net=/var/run/netns/netns1 bash <<'INSIDE'
ip link set lo up
ip link set ceth1 up
ip addr add 172.18.0.20/16 dev ceth1
INSIDE
