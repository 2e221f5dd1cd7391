# Clean up. Deleting one end of a veth pair deletes its peer as well.
sudo ip link delete {{ veth0 }}
sudo ip link delete {{ veth1 }}
# Then remove the two namespaces themselves.
sudo ip netns delete {{ ns0 }}
sudo ip netns delete {{ ns1 }}
# Both {{ subnet }} routes went away with their interfaces.
ip route
# Rebuild the first container. This time {{ veth0 }} gets no address, it is only brought up.
sudo ip netns add {{ ns0 }}
sudo ip link add {{ veth0 }} type veth peer name {{ ceth0 }}
sudo ip link set {{ veth0 }} up
sudo ip link set {{ ceth0 }} netns {{ ns0 }}
sudo nsenter --net=/var/run/netns/{{ ns0 }} bash
ip link set lo up
ip link set {{ ceth0 }} up
ip addr add {{ ns0_ip }}/{{ prefix }} dev {{ ceth0 }}
exit
# The second container, the same way.
sudo ip netns add {{ ns1 }}
sudo ip link add {{ veth1 }} type veth peer name {{ ceth1 }}
sudo ip link set {{ veth1 }} up
sudo ip link set {{ ceth1 }} netns {{ ns1 }}
sudo nsenter --net=/var/run/netns/{{ ns1 }} bash
ip link set lo up
ip link set {{ ceth1 }} up
ip addr add {{ ns1_ip }}/{{ prefix }} dev {{ ceth1 }}
exit
# No {{ subnet }} route on the host this time: the host ends have no address.
ip route
# Create the virtual switch and switch it on.
sudo ip link add {{ bridge }} type bridge
sudo ip link set {{ bridge }} up
# Plug both host ends into it, like cables into switch ports.
sudo ip link set {{ veth0 }} master {{ bridge }}
sudo ip link set {{ veth1 }} master {{ bridge }}
# The containers now share one Ethernet segment.
sudo nsenter --net=/var/run/netns/{{ ns0 }} bash
ping -c 2 {{ ns1_ip }}
# {{ ns0 }} learned {{ ns1 }}'s MAC address by ARP, straight across the bridge.
ip neigh
exit
sudo nsenter --net=/var/run/netns/{{ ns1 }} bash
ping -c 2 {{ ns0_ip }}
ip neigh
exit
