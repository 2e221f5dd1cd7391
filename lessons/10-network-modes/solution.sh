# "bridge" mode is what you built: lesson 8's server runs in {{ ns0 }}. Which processes
# live in that namespace? `ip netns pids` finds them by their /proc/PID/ns/net link.
sudo ip netns pids {{ ns0 }}
pid=$(sudo ip netns pids {{ ns0 }} | head -n 1)
ps -o pid,args -p "$pid"
# Its network namespace is not the one your shell is in: compare the two links.
sudo readlink /proc/$pid/ns/net /proc/$$/ns/net
# "host" mode: start a server with no namespace of its own. It binds eth0's address itself.
sudo python3 -m http.server --bind {{ host_ip }} {{ host_port }} >/dev/null 2>&1 &
sleep 1
sudo readlink /proc/$!/ns/net
# No DNAT rule is involved: the host's own address and port answer directly.
curl -s {{ host_ip }}:{{ host_port }} | head -n 2
# "none" mode: a process in a namespace of its own, with nothing in it but lo.
sudo unshare --net sleep infinity >/dev/null 2>&1 &
sleep 0.5
sudo readlink /proc/$!/ns/net
sudo nsenter --target $! --net ip link
sudo nsenter --target $! --net ping -c 1 -W 1 {{ internet_ip }} || echo "no network at all"
