# lesson: 04
# cause: forward-blocked
# base: base4
# The same default-deny made with iptables-legacy.
iptables-legacy -P FORWARD DROP
