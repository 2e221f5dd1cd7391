# lesson: 06
# cause: ip-forward-off
# base: base4 base5 base6
# ip_forward is 1, but forwarding is off on br0, the interface the containers' packets arrive on.
sysctl -qw net.ipv4.conf.br0.forwarding=0
