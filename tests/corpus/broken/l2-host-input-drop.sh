# lesson: 02
# cause: firewall-blocked
# base: base2
# The host drops what arrives on veth0.
iptables -A INPUT -i veth0 -j DROP
