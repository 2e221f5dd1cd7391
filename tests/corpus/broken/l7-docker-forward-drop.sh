# lesson: 07
# cause: forward-blocked
# base: base4 base5 base6 base7
# Docker's default-deny FORWARD on a finished lesson 7.
iptables -P FORWARD DROP
