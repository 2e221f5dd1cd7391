# lesson: 11
# cause: link-down
# base: base11
# slirp4netns runs without --configure: tap0 exists, but down and without an address.
su learner -c "slirp4netns --mtu=65520 --disable-host-loopback $pid tap0 >/dev/null 2>&1 &"
for i in $(seq 50); do nsenter --net=/proc/$pid/ns/net ip link show tap0 >/dev/null 2>&1 && break; sleep 0.1; done
