# lesson: 10
# cause: state-wrong
# base: base4 base5 base6 base7 base8
# Lesson 8's server in netns0 is not running: no bridge-mode container is left.
python3 -m http.server --bind 10.0.2.15 6000 >/dev/null 2>&1 &
for i in $(seq 50); do ss -ltn | grep -q ":6000 " && break; sleep 0.1; done
unshare --net sleep infinity >/dev/null 2>&1 &
