# lesson: 05-gateway
# Default routes naming their device, added through nsenter.
ip addr add 172.18.0.1/16 brd + dev br0
nsenter --net=/var/run/netns/netns0 ip route add default via 172.18.0.1 dev ceth0
nsenter --net=/var/run/netns/netns1 ip route add default via 172.18.0.1 dev ceth1
