# Root could build anything; an ordinary user cannot add a veth to the host.
# Become the world's unprivileged user (exit brings you back to root).
su - {{ learner }}
id
# A user namespace where you are root, and a network namespace it owns: no privilege needed.
unshare --user --map-root-user --net sleep infinity >/dev/null 2>&1 &
pid=$!
sleep 0.5
# Inside: only lo, down. Nothing there reaches the host.
nsenter --target $pid --user --preserve-credentials --net ip link
# slirp4netns puts {{ tap }} inside and carries its traffic out as ordinary sockets of yours.
slirp4netns --configure --mtu=65520 --disable-host-loopback $pid {{ tap }} >/dev/null 2>&1 &
sleep 1
nsenter --target $pid --user --preserve-credentials --net ip addr show {{ tap }}
nsenter --target $pid --user --preserve-credentials --net ip route
# The web server names the address it saw: the host's, not {{ slirp_ip }}.
nsenter --target $pid --user --preserve-credentials --net curl -s {{ internet_ip }}
# ICMP does not get through: slirp4netns has no CAP_NET_RAW on the host.
nsenter --target $pid --user --preserve-credentials --net ping -c 1 -W 1 {{ internet_ip }} || echo "no ping"
# Back to root: the host has no new link at all.
exit
ip link
