# lesson: 04
# cause: forward-blocked
# base: base4
# Docker's default-deny: `iptables -P FORWARD DROP`; br_netfilter sends bridged frames through FORWARD.
iptables -P FORWARD DROP
