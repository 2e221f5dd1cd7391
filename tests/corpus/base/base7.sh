# GW7: end of lesson 7: the host masquerades the containers.
iptables -t nat -A POSTROUTING -s 172.18.0.0/16 ! -o br0 -j MASQUERADE
