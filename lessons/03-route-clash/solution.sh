# A second container, built exactly like the first: a namespace...
sudo ip netns add {{ ns1 }}
# ...and a veth pair, with one end moved into it.
sudo ip link add {{ veth1 }} type veth peer name {{ ceth1 }}
sudo ip link set {{ ceth1 }} netns {{ ns1 }}
# The host's end: up, and an address in the same {{ subnet }} network.
sudo ip link set {{ veth1 }} up
sudo ip addr add {{ veth1_ip }}/{{ prefix }} dev {{ veth1 }}
# The container's end, from inside {{ ns1 }}.
sudo nsenter --net=/var/run/netns/{{ ns1 }} bash
ip link set lo up
ip link set {{ ceth1 }} up
ip addr add {{ ns1_ip }}/{{ prefix }} dev {{ ceth1 }}
# The cable is plugged in, yet the host's end does not answer.
ping -c 2 -W 1 {{ veth1_ip }}
# Though the route looks right.
ip route
exit
# The host has two routes for the same network; the first one wins.
ip route
ip route get {{ ns1_ip }}
# Meanwhile {{ ns0 }} can talk to {{ veth1 }}, which is not even its cable.
sudo nsenter --net=/var/run/netns/{{ ns0 }} bash
ping -c 2 {{ veth1_ip }}
exit
