# 清理。删掉 veth 对的一头，另一头也会一起被删掉。
sudo ip link delete {{ veth0 }}
sudo ip link delete {{ veth1 }}
# 然后删掉两个命名空间本身。
sudo ip netns delete {{ ns0 }}
sudo ip netns delete {{ ns1 }}
# 两条 {{ subnet }} 路由随着它们的网卡一起消失了。
ip route
# 重建第一个容器。这次 {{ veth0 }} 不设地址，只是启用。
sudo ip netns add {{ ns0 }}
sudo ip link add {{ veth0 }} type veth peer name {{ ceth0 }}
sudo ip link set {{ veth0 }} up
sudo ip link set {{ ceth0 }} netns {{ ns0 }}
sudo nsenter --net=/var/run/netns/{{ ns0 }} bash
ip link set lo up
ip link set {{ ceth0 }} up
ip addr add {{ ns0_ip }}/{{ prefix }} dev {{ ceth0 }}
exit
# 第二个容器，做法相同。
sudo ip netns add {{ ns1 }}
sudo ip link add {{ veth1 }} type veth peer name {{ ceth1 }}
sudo ip link set {{ veth1 }} up
sudo ip link set {{ ceth1 }} netns {{ ns1 }}
sudo nsenter --net=/var/run/netns/{{ ns1 }} bash
ip link set lo up
ip link set {{ ceth1 }} up
ip addr add {{ ns1_ip }}/{{ prefix }} dev {{ ceth1 }}
exit
# 这次主机上没有 {{ subnet }} 路由：主机这头没有地址。
ip route
# 创建虚拟交换机并启用它。
sudo ip link add {{ bridge }} type bridge
sudo ip link set {{ bridge }} up
# 把主机这两头插上去，就像把网线插进交换机的端口。
sudo ip link set {{ veth0 }} master {{ bridge }}
sudo ip link set {{ veth1 }} master {{ bridge }}
# 现在两个容器在同一个以太网段里。
sudo nsenter --net=/var/run/netns/{{ ns0 }} bash
ping -c 2 {{ ns1_ip }}
# {{ ns0 }} 通过 ARP 直接隔着网桥学到了 {{ ns1 }} 的 MAC 地址。
ip neigh
exit
sudo nsenter --net=/var/run/netns/{{ ns1 }} bash
ping -c 2 {{ ns0_ip }}
ip neigh
exit
