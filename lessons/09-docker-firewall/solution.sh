# Today every policy is ACCEPT: the host forwards anything to anyone.
sudo iptables -t filter --list-rules
# Docker's filter chains first, empty: DOCKER (published ports), the isolation stages, DOCKER-USER.
sudo iptables -N DOCKER
sudo iptables -N DOCKER-ISOLATION-STAGE-1
sudo iptables -N DOCKER-ISOLATION-STAGE-2
sudo iptables -N DOCKER-USER
# FORWARD hands every packet to DOCKER-USER (yours to fill), then to the isolation check.
sudo iptables -A FORWARD -j DOCKER-USER
sudo iptables -A FORWARD -j DOCKER-ISOLATION-STAGE-1
# For each bridge: replies may come back in, new connections in go through DOCKER,
# containers may go out, and containers on the same bridge may talk.
sudo iptables -A FORWARD -o {{ bridge }} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
sudo iptables -A FORWARD -o {{ bridge }} -j DOCKER
sudo iptables -A FORWARD -i {{ bridge }} ! -o {{ bridge }} -j ACCEPT
sudo iptables -A FORWARD -i {{ bridge }} -o {{ bridge }} -j ACCEPT
sudo iptables -A FORWARD -o {{ bridge2 }} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
sudo iptables -A FORWARD -o {{ bridge2 }} -j DOCKER
sudo iptables -A FORWARD -i {{ bridge2 }} ! -o {{ bridge2 }} -j ACCEPT
sudo iptables -A FORWARD -i {{ bridge2 }} -o {{ bridge2 }} -j ACCEPT
# The published port, let in. "--ctstate DNAT": only connections the host translated,
# not packets a neighbour sends straight to {{ ns0_ip }}.
sudo iptables -A DOCKER -d {{ ns0_ip }}/32 ! -i {{ bridge }} -o {{ bridge }} -p tcp -m tcp \
    --dport {{ port }} -m conntrack --ctstate DNAT -j ACCEPT
# Isolation: what leaves one bridge for elsewhere must not enter another bridge.
sudo iptables -A DOCKER-ISOLATION-STAGE-1 -i {{ bridge }} ! -o {{ bridge }} -j DOCKER-ISOLATION-STAGE-2
sudo iptables -A DOCKER-ISOLATION-STAGE-1 -i {{ bridge2 }} ! -o {{ bridge2 }} -j DOCKER-ISOLATION-STAGE-2
sudo iptables -A DOCKER-ISOLATION-STAGE-1 -j RETURN
sudo iptables -A DOCKER-ISOLATION-STAGE-2 -o {{ bridge }} -j DROP
sudo iptables -A DOCKER-ISOLATION-STAGE-2 -o {{ bridge2 }} -j DROP
sudo iptables -A DOCKER-ISOLATION-STAGE-2 -j RETURN
sudo iptables -A DOCKER-USER -j RETURN
# Now deny by default: whatever no rule accepted is dropped.
sudo iptables -P FORWARD DROP
# Publishing, Docker's way: replace lesson 8's two DNAT rules by one DOCKER chain in nat,
# reached for every destination address that is the host's own (addrtype LOCAL).
sudo iptables -t nat -D PREROUTING -d {{ host_ip }} -p tcp -m tcp --dport {{ port }} \
    -j DNAT --to-destination {{ ns0_ip }}:{{ port }}
sudo iptables -t nat -D OUTPUT -d {{ host_ip }} -p tcp -m tcp --dport {{ port }} \
    -j DNAT --to-destination {{ ns0_ip }}:{{ port }}
sudo iptables -t nat -N DOCKER
sudo iptables -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
sudo iptables -t nat -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
sudo iptables -t nat -A DOCKER -i {{ bridge }} -j RETURN
sudo iptables -t nat -A DOCKER ! -i {{ bridge }} -p tcp -m tcp --dport {{ port }} \
    -j DNAT --to-destination {{ ns0_ip }}:{{ port }}
sudo iptables -t nat --list-rules
# The published port still answers, from here and from outside.
curl -s {{ host_ip }}:{{ port }} | head -n 2
# {{ ns2 }} on {{ bridge2 }} still reaches the internet, but no longer {{ ns0 }}.
sudo ip netns exec {{ ns2 }} ping -c 1 -W 1 {{ internet_ip }}
sudo ip netns exec {{ ns2 }} curl -s -m 2 {{ ns0_ip }}:{{ port }} || echo "no answer: isolated"
