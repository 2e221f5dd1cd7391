# lesson: 05
# cause: firewall-blocked
# base: base4 base5
# The host drops everything from the containers' network.
iptables -A INPUT -s 172.18.0.0/16 -j DROP
