# slirp4netns, as learner, connects $pid's namespace: tap0 up with 10.0.2.100/24.
su learner -c "slirp4netns --configure --mtu=65520 --disable-host-loopback $pid tap0 >/dev/null 2>&1 &"
for i in $(seq 50); do nsenter --net=/proc/$pid/ns/net ip -br addr show tap0 2>/dev/null | grep -q 10.0.2.100 && break; sleep 0.1; done
