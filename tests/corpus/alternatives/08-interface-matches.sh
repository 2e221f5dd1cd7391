# lesson: 08-port-publishing
# The example: DNAT matched on interfaces (-i eth0 from outside, -o lo for the host).
ip netns exec netns0 python3 -m http.server --bind 172.18.0.10 5000 >/dev/null 2>&1 &
for i in $(seq 50); do ip netns exec netns0 ss -ltn | grep -q :5000 && break; sleep 0.1; done
iptables -t nat -A PREROUTING -i eth0 -p tcp --dport 5000 -j DNAT --to-destination 172.18.0.10:5000
iptables -t nat -A OUTPUT -o lo -p tcp --dport 5000 -j DNAT --to-destination 172.18.0.10:5000
