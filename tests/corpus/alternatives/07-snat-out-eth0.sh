# lesson: 07-masquerade
# SNAT to the host's address instead of MASQUERADE, matched on the uplink.
iptables -t nat -I POSTROUTING 1 -s 172.18.0.0/16 -o eth0 -j SNAT --to-source 10.0.2.15
