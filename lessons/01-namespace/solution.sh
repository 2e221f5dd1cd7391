# Mark the host's firewall with an empty custom chain, so we can recognise it later.
sudo iptables -N ROOT_NS
# The host's network devices: loopback and {{ host_if }}.
ip link
# The host's routes: the local network and a default route via {{ router_ip }}.
ip route
# The host's firewall rules, ROOT_NS included.
sudo iptables --list-rules
# Create a second, empty network stack and give it a name.
sudo ip netns add {{ ns0 }}
ip netns
# Start a shell whose network is {{ ns0 }}; the commands below run in there.
sudo nsenter --net=/var/run/netns/{{ ns0 }} bash
# Only a loopback device, and it is down.
ip link
# No routes at all.
ip route
# The default policies, but no ROOT_NS: this firewall is a separate one.
iptables --list-rules
# Leave {{ ns0 }} and return to the host's shell.
exit
