# lesson: 05
# cause: route-missing
# base: base4 base5
# A blackhole route left on the host swallows the containers' network.
ip route add blackhole 172.18.0.0/24
