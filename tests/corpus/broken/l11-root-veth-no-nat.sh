# lesson: 11
# cause: masquerade-missing
# base: base11
# Root wired the rootless namespace the lesson-5 way (veth, forwarding) but forgot the NAT:
# the internet sees 172.20.0.2.
ip link add vr0 type veth peer name cr0 netns /proc/$pid/ns/net
ip addr add 172.20.0.1/24 dev vr0
ip link set vr0 up
nsenter --net=/proc/$pid/ns/net sh -c 'ip link set lo up; ip link set cr0 up; ip addr add 172.20.0.2/24 dev cr0; ip route add default via 172.20.0.1'
echo 1 > /proc/sys/net/ipv4/ip_forward
