# lesson: 11
# cause: netns-missing
# base:
# Root made the namespace (ip netns add) and connected it with slirp4netns: it reaches the
# internet, but nothing about it is rootless.
ip netns add rootful
slirp4netns --configure --mtu=65520 --disable-host-loopback --netns-type=path /run/netns/rootful tap0 >/dev/null 2>&1 &
for i in $(seq 50); do ip -n rootful -br addr show tap0 2>/dev/null | grep -q 10.0.2.100 && break; sleep 0.1; done
ip netns exec rootful curl -s -m 3 8.8.8.8 | grep -q "10.0.2.15"
