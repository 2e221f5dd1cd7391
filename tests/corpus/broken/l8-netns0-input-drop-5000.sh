# lesson: 08
# cause: firewall-blocked
# base: base4 base5 base6 base7 server base8
# netns0 drops connections to its own server port.
ip netns exec netns0 iptables -A INPUT -p tcp --dport 5000 -j DROP
