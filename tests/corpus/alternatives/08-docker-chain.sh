# lesson: 08-port-publishing
# Docker's way: a DOCKER chain reached for local destinations (-m addrtype).
ip netns exec netns0 python3 -m http.server --bind 172.18.0.10 5000 >/dev/null 2>&1 &
for i in $(seq 50); do ip netns exec netns0 ss -ltn | grep -q :5000 && break; sleep 0.1; done
iptables -t nat -N DOCKER
iptables -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
iptables -t nat -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
iptables -t nat -A DOCKER -i br0 -j RETURN
iptables -t nat -A DOCKER ! -i br0 -p tcp -m tcp --dport 5000 -j DNAT --to-destination 172.18.0.10:5000
