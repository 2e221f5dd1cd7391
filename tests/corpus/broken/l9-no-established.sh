# lesson: 09
# cause: forward-blocked
# base: base4 base5 base6 base7 server base8 base9 docker9
# Forgot the conntrack rule for br0: replies to the containers are dropped.
iptables -D FORWARD -o br0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
