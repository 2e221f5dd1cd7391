# lesson: 08
# cause: forward-blocked
# base: base4 base5 base6 base7 server base8
# Docker's default-deny FORWARD: published traffic from outside cannot be forwarded.
iptables -P FORWARD DROP
