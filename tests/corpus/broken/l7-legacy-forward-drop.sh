# lesson: 07
# cause: forward-blocked
# base: base4 base5 base6 base7
# An iptables-legacy rule drops what leaves by eth0: both backends must accept.
iptables-legacy -A FORWARD -o eth0 -j DROP
