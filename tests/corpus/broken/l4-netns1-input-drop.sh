# lesson: 04
# cause: firewall-blocked
# base: base4
# netns1 drops incoming ICMP.
ip netns exec netns1 iptables -A INPUT -p icmp -j DROP
