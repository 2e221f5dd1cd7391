# 现在每条策略都是 ACCEPT：主机把什么都转发给任何人。
sudo iptables -t filter --list-rules
# 先建 Docker 的 filter 链，都是空的：DOCKER（发布的端口）、两级隔离、DOCKER-USER。
sudo iptables -N DOCKER
sudo iptables -N DOCKER-ISOLATION-STAGE-1
sudo iptables -N DOCKER-ISOLATION-STAGE-2
sudo iptables -N DOCKER-USER
# FORWARD 把每个数据包先交给 DOCKER-USER（留给你填写），再交给隔离检查。
sudo iptables -A FORWARD -j DOCKER-USER
sudo iptables -A FORWARD -j DOCKER-ISOLATION-STAGE-1
# 每个网桥：回复可以进来，新进来的连接要经过 DOCKER，
# 容器可以出去，同一网桥上的容器可以互相通信。
sudo iptables -A FORWARD -o {{ bridge }} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
sudo iptables -A FORWARD -o {{ bridge }} -j DOCKER
sudo iptables -A FORWARD -i {{ bridge }} ! -o {{ bridge }} -j ACCEPT
sudo iptables -A FORWARD -i {{ bridge }} -o {{ bridge }} -j ACCEPT
sudo iptables -A FORWARD -o {{ bridge2 }} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
sudo iptables -A FORWARD -o {{ bridge2 }} -j DOCKER
sudo iptables -A FORWARD -i {{ bridge2 }} ! -o {{ bridge2 }} -j ACCEPT
sudo iptables -A FORWARD -i {{ bridge2 }} -o {{ bridge2 }} -j ACCEPT
# 放行发布的端口。"--ctstate DNAT"：只放行主机转换过的连接，
# 而不是邻居直接发给 {{ ns0_ip }} 的数据包。
sudo iptables -A DOCKER -d {{ ns0_ip }}/32 ! -i {{ bridge }} -o {{ bridge }} -p tcp -m tcp \
    --dport {{ port }} -m conntrack --ctstate DNAT -j ACCEPT
# 隔离：从一个网桥出去、去往别处的流量，不得进入另一个网桥。
sudo iptables -A DOCKER-ISOLATION-STAGE-1 -i {{ bridge }} ! -o {{ bridge }} -j DOCKER-ISOLATION-STAGE-2
sudo iptables -A DOCKER-ISOLATION-STAGE-1 -i {{ bridge2 }} ! -o {{ bridge2 }} -j DOCKER-ISOLATION-STAGE-2
sudo iptables -A DOCKER-ISOLATION-STAGE-1 -j RETURN
sudo iptables -A DOCKER-ISOLATION-STAGE-2 -o {{ bridge }} -j DROP
sudo iptables -A DOCKER-ISOLATION-STAGE-2 -o {{ bridge2 }} -j DROP
sudo iptables -A DOCKER-ISOLATION-STAGE-2 -j RETURN
sudo iptables -A DOCKER-USER -j RETURN
# 现在默认拒绝：没有规则放行的，一律丢弃。
sudo iptables -P FORWARD DROP
# Docker 式的端口发布：用 nat 表里的一条 DOCKER 链取代第 8 课的两条 DNAT 规则，
# 凡是目的地址属于主机自己的（addrtype LOCAL），都会进入这条链。
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
# 发布的端口仍然有回应，无论从这里还是从外面。
curl -s {{ host_ip }}:{{ port }} | head -n 2
# {{ bridge2 }} 上的 {{ ns2 }} 仍然能上互联网，但再也到不了 {{ ns0 }}。
sudo ip netns exec {{ ns2 }} ping -c 1 -W 1 {{ internet_ip }}
sudo ip netns exec {{ ns2 }} curl -s -m 2 {{ ns0_ip }}:{{ port }} || echo "no answer: isolated"
