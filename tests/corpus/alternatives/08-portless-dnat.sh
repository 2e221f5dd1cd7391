# lesson: 08-port-publishing
# DNAT without a port (the port stays 5000), rules inserted rather than appended.
ip netns exec netns0 python3 -m http.server --bind 172.18.0.10 5000 >/dev/null 2>&1 &
for i in $(seq 50); do ip netns exec netns0 ss -ltn | grep -q :5000 && break; sleep 0.1; done
iptables -t nat -I PREROUTING -d 10.0.2.15/32 -p tcp --dport 5000 -j DNAT --to-destination 172.18.0.10
iptables -t nat -I OUTPUT -d 10.0.2.15 -p tcp --dport 5000 -j DNAT --to 172.18.0.10
