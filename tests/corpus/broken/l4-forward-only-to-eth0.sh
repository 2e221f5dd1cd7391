# lesson: 04
# cause: forward-blocked
# base: base4
# FORWARD allows br0 -> eth0 only: bridged br0 -> br0 frames still meet the DROP policy.
iptables -P FORWARD DROP
iptables -A FORWARD -i br0 -o eth0 -j ACCEPT
