# lesson: 10
# cause: state-wrong
# base: base4 base5 base6 base7 server base8
# The "host mode" server was started inside netns1: it has a namespace of its own.
ip netns exec netns1 python3 -m http.server 6000 >/dev/null 2>&1 &
for i in $(seq 50); do ip netns exec netns1 ss -ltn | grep -q ":6000 " && break; sleep 0.1; done
unshare --net sleep infinity >/dev/null 2>&1 &
