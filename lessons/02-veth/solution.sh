# Create a veth pair: two interfaces joined like the two ends of a cable.
sudo ip link add {{ veth0 }} type veth peer name {{ ceth0 }}
ip link
# Move one end into {{ ns0 }}; it disappears from the host's list.
sudo ip link set {{ ceth0 }} netns {{ ns0 }}
ip link
# Turn on the host's end and give it an address in {{ subnet }}.
sudo ip link set {{ veth0 }} up
sudo ip addr add {{ veth0_ip }}/{{ prefix }} dev {{ veth0 }}
# Now configure the other end, from inside {{ ns0 }}.
sudo nsenter --net=/var/run/netns/{{ ns0 }} bash
# Loopback starts down in a new namespace: turn it on too.
ip link set lo up
ip link set {{ ceth0 }} up
ip addr add {{ ns0_ip }}/{{ prefix }} dev {{ ceth0 }}
ip link
# Through the cable to the host's end.
ping -c 2 {{ veth0_ip }}
# The address came with a route for the whole {{ subnet }}, and nothing else.
ip route
# So any other destination is "Network is unreachable".
ping -c 2 {{ host_ip }}
ping -c 2 {{ internet_ip }}
exit
# And from the host, through the cable to the container's end.
ping -c 2 {{ ns0_ip }}
ip route
