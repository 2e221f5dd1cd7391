# lesson: 11
# cause: state-wrong
# base: base11 slirp11
# Rootless works, but a bridge (docker0, as a rootful Docker would make) sits on the host.
ip link add docker0 type bridge
ip link set docker0 up
