# lesson: 10
# cause: firewall-blocked
# base: base4 base5 base6 base7 server base8
# The host's firewall drops port 6000: the host-mode server is unreachable from outside.
python3 -m http.server --bind 10.0.2.15 6000 >/dev/null 2>&1 &
for i in $(seq 50); do ss -ltn | grep -q ":6000 " && break; sleep 0.1; done
iptables -A INPUT -p tcp --dport 6000 -j DROP
unshare --net sleep infinity >/dev/null 2>&1 &
