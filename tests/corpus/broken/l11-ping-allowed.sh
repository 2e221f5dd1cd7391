# lesson: 11
# cause: state-wrong
# base: base11 slirp11
# Podman's fix applied: ping sockets allowed inside the namespace and on the host, so a
# ping without CAP_NET_RAW gets through; the lesson's last step wants to see it fail.
su learner -c "nsenter --target $pid --user --preserve-credentials --net sysctl -qw net.ipv4.ping_group_range='0 0'"
sysctl -qw net.ipv4.ping_group_range="0 2147483647"
