# The containers reach the host, but the wider world stays silent.
sudo nsenter --net=/var/run/netns/{{ ns0 }} bash
ping -c 2 -W 1 {{ internet_ip }}
exit
# By default Linux is not a router: it drops packets addressed to someone else.
cat /proc/sys/net/ipv4/ip_forward
# Switch forwarding on (the redirection must run as root, hence bash -c).
sudo bash -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
cat /proc/sys/net/ipv4/ip_forward
# Try again: the request now leaves through {{ host_if }}, yet no reply comes back.
sudo nsenter --net=/var/run/netns/{{ ns0 }} bash
ping -c 2 -W 1 {{ internet_ip }}
exit
# The host knows both sides; the internet knows only {{ host_net }}, not {{ subnet }}.
# A reply to the private source {{ ns0_ip }} has nowhere to go.
ip route
