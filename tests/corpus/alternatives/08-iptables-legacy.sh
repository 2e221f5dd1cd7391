# lesson: 08-port-publishing
# iptables-legacy for both DNAT rules.
ip netns exec netns0 python3 -m http.server --bind 172.18.0.10 5000 >/dev/null 2>&1 &
for i in $(seq 50); do ip netns exec netns0 ss -ltn | grep -q :5000 && break; sleep 0.1; done
iptables-legacy -t nat -A PREROUTING -d 10.0.2.15 -p tcp --dport 5000 -j DNAT --to-destination 172.18.0.10:5000
iptables-legacy -t nat -A OUTPUT -d 10.0.2.15 -p tcp --dport 5000 -j DNAT --to-destination 172.18.0.10:5000
