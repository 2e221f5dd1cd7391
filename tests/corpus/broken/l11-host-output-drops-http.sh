# lesson: 11
# cause: firewall-blocked
# base: base11 slirp11
# The host's OUTPUT chain drops web traffic: slirp4netns's connections are the host's own.
iptables -A OUTPUT -p tcp --dport 80 -j DROP
