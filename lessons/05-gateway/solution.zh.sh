# 从容器出发，主机的 {{ host_if }} 是不可达的：没有路由通往那里。
sudo nsenter --net=/var/run/netns/{{ ns0 }} bash
ping -c 2 {{ host_ip }}
ip route
exit
# 主机也没有通往容器的路由。
ip route
# 给网桥一个地址：主机加入了容器的网络。
sudo ip addr add {{ bridge_ip }}/{{ prefix }} dev {{ bridge }}
# 这个地址带来了一条经由 {{ bridge }} 通往 {{ subnet }} 的路由。
ip route
ping -c 2 {{ ns0_ip }}
ping -c 2 {{ ns1_ip }}
# 让网桥成为容器的默认网关，先在 {{ ns0 }} 里……
sudo nsenter --net=/var/run/netns/{{ ns0 }} bash
ip route add default via {{ bridge_ip }}
ping -c 2 {{ host_ip }}
exit
# ……再在 {{ ns1 }} 里。
sudo nsenter --net=/var/run/netns/{{ ns1 }} bash
ip route add default via {{ bridge_ip }}
ping -c 2 {{ host_ip }}
exit
