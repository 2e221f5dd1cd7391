# lesson: 06
# cause: forward-blocked
# base: base4 base5 base6
# Docker's default-deny FORWARD stops the request before the missing masquerade matters.
iptables -P FORWARD DROP
