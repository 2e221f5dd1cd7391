# lesson: 10
# cause: state-wrong
# base: base4 base5 base6 base7 server base8
# `sleep infinity` started without unshare: it runs in the host's namespace.
python3 -m http.server --bind 10.0.2.15 6000 >/dev/null 2>&1 &
for i in $(seq 50); do ss -ltn | grep -q ":6000 " && break; sleep 0.1; done
sleep infinity >/dev/null 2>&1 &
