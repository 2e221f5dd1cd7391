# lesson: 10
# cause: state-wrong
# base: base4 base5 base6 base7 server base8
# The "none" namespace got a veth end: it holds more than lo.
python3 -m http.server --bind 10.0.2.15 6000 >/dev/null 2>&1 &
for i in $(seq 50); do ss -ltn | grep -q ":6000 " && break; sleep 0.1; done
unshare --net sleep infinity >/dev/null 2>&1 &
pid=$!
sleep 0.3
ip link add vnone type veth peer name cnone netns $pid
