# End of lesson 9: Docker's deny-by-default filter rules for br0 and br1, and publishing
# through a DOCKER nat chain (lesson 8's two DNAT rules deleted).
iptables -N DOCKER
iptables -N DOCKER-ISOLATION-STAGE-1
iptables -N DOCKER-ISOLATION-STAGE-2
iptables -N DOCKER-USER
iptables -A FORWARD -j DOCKER-USER
iptables -A FORWARD -j DOCKER-ISOLATION-STAGE-1
iptables -A FORWARD -o br0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
iptables -A FORWARD -o br0 -j DOCKER
iptables -A FORWARD -i br0 ! -o br0 -j ACCEPT
iptables -A FORWARD -i br0 -o br0 -j ACCEPT
iptables -A FORWARD -o br1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
iptables -A FORWARD -o br1 -j DOCKER
iptables -A FORWARD -i br1 ! -o br1 -j ACCEPT
iptables -A FORWARD -i br1 -o br1 -j ACCEPT
iptables -A DOCKER -d 172.18.0.10/32 ! -i br0 -o br0 -p tcp -m tcp --dport 5000 -m conntrack --ctstate DNAT -j ACCEPT
iptables -A DOCKER-ISOLATION-STAGE-1 -i br0 ! -o br0 -j DOCKER-ISOLATION-STAGE-2
iptables -A DOCKER-ISOLATION-STAGE-1 -i br1 ! -o br1 -j DOCKER-ISOLATION-STAGE-2
iptables -A DOCKER-ISOLATION-STAGE-1 -j RETURN
iptables -A DOCKER-ISOLATION-STAGE-2 -o br0 -j DROP
iptables -A DOCKER-ISOLATION-STAGE-2 -o br1 -j DROP
iptables -A DOCKER-ISOLATION-STAGE-2 -j RETURN
iptables -A DOCKER-USER -j RETURN
iptables -P FORWARD DROP
iptables -t nat -D PREROUTING -d 10.0.2.15 -p tcp -m tcp --dport 5000 -j DNAT --to-destination 172.18.0.10:5000
iptables -t nat -D OUTPUT -d 10.0.2.15 -p tcp -m tcp --dport 5000 -j DNAT --to-destination 172.18.0.10:5000
iptables -t nat -N DOCKER
iptables -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
iptables -t nat -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
iptables -t nat -A DOCKER -i br0 -j RETURN
iptables -t nat -A DOCKER ! -i br0 -p tcp -m tcp --dport 5000 -j DNAT --to-destination 172.18.0.10:5000
