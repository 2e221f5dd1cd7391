# lesson: 09
# cause: state-wrong
# base: base4 base5 base6 base7 server base8 base9 docker9
# The article's DOCKER rule as printed (no --ctstate DNAT): the neighbour gets in directly.
iptables -D DOCKER -d 172.18.0.10/32 ! -i br0 -o br0 -p tcp -m tcp --dport 5000 -m conntrack --ctstate DNAT -j ACCEPT
iptables -A DOCKER -d 172.18.0.10/32 ! -i br0 -o br0 -p tcp -m tcp --dport 5000 -j ACCEPT
