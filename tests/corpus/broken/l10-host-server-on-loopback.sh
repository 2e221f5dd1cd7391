# lesson: 10
# cause: service-down
# base: base4 base5 base6 base7 server base8
# The host-mode server listens on 127.0.0.1 only: nothing on 10.0.2.15:6000.
python3 -m http.server --bind 127.0.0.1 6000 >/dev/null 2>&1 &
for i in $(seq 50); do ss -ltn | grep -q ":6000 " && break; sleep 0.1; done
unshare --net sleep infinity >/dev/null 2>&1 &
