# lesson: 11
# cause: netns-missing
# base:
# Root made the user and network namespace (and its slirp4netns): it works, but it is not rootless.
unshare --user --map-root-user --net sleep infinity >/dev/null 2>&1 &
pid=$!
sleep 0.3
slirp4netns --configure --mtu=65520 --disable-host-loopback $pid tap0 >/dev/null 2>&1 &
for i in $(seq 50); do nsenter --net=/proc/$pid/ns/net ip -br addr show tap0 2>/dev/null | grep -q 10.0.2.100 && break; sleep 0.1; done
