# lesson: 07
# cause: firewall-blocked
# base: base4 base5 base6 base7
# netns0's own INPUT policy drops the replies (the ping probe once saw them before INPUT did).
ip netns exec netns0 iptables -P INPUT DROP
