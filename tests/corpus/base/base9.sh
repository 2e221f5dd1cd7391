# Start of lesson 9 beyond lesson 8: a second network (br1, netns2 on 172.19.0.0/16),
# and a neighbour on a second LAN (eth1) with a route to 172.18.0.0/16 via the host.
ip netns add netns2
ip link add br1 type bridge
ip addr add 172.19.0.1/16 dev br1
ip link set br1 up
ip link add veth2 type veth peer name ceth2 netns netns2
ip link set veth2 master br1 up
ip -n netns2 link set lo up
ip -n netns2 link set ceth2 up
ip -n netns2 addr add 172.19.0.10/16 dev ceth2
ip -n netns2 route add default via 172.19.0.1
iptables -t nat -A POSTROUTING -s 172.19.0.0/16 ! -o br1 -j MASQUERADE
ip netns add neighbour
ip link add eth1 type veth peer name eth0 netns neighbour
ip addr add 192.168.50.1/24 dev eth1
ip link set eth1 up
ip -n neighbour link set lo up
ip -n neighbour link set eth0 up
ip -n neighbour addr add 192.168.50.2/24 dev eth0
ip -n neighbour route add 172.18.0.0/16 via 192.168.50.1
