# lesson: 09
# cause: forward-blocked
# base: base4 base5 base6 base7 server base8 base9 docker9
# No filter DOCKER rule for the published port: FORWARD drops it on the way in.
iptables -D DOCKER -d 172.18.0.10/32 ! -i br0 -o br0 -p tcp -m tcp --dport 5000 -m conntrack --ctstate DNAT -j ACCEPT
