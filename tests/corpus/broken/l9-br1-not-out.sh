# lesson: 09
# cause: forward-blocked
# base: base4 base5 base6 base7 server base8 base9 docker9
# Only br0 got its FORWARD rules: netns2 cannot leave br1 any more.
iptables -D FORWARD -i br1 ! -o br1 -j ACCEPT
