# From a container, the host's {{ host_if }} is unreachable: no route leads there.
sudo nsenter --net=/var/run/netns/{{ ns0 }} bash
ping -c 2 {{ host_ip }}
ip route
exit
# The host has no route to the containers either.
ip route
# Give the bridge an address: the host joins the containers' network.
sudo ip addr add {{ bridge_ip }}/{{ prefix }} dev {{ bridge }}
# The address brought a route to {{ subnet }} through {{ bridge }}.
ip route
ping -c 2 {{ ns0_ip }}
ping -c 2 {{ ns1_ip }}
# Make the bridge the containers' default gateway, first in {{ ns0 }}...
sudo nsenter --net=/var/run/netns/{{ ns0 }} bash
ip route add default via {{ bridge_ip }}
ping -c 2 {{ host_ip }}
exit
# ...then in {{ ns1 }}.
sudo nsenter --net=/var/run/netns/{{ ns1 }} bash
ip route add default via {{ bridge_ip }}
ping -c 2 {{ host_ip }}
exit
