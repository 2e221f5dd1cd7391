# 创建一个 veth 对：两块像网线两头一样连在一起的网卡。
sudo ip link add {{ veth0 }} type veth peer name {{ ceth0 }}
ip link
# 把其中一头移进 {{ ns0 }}；它会从主机的列表里消失。
sudo ip link set {{ ceth0 }} netns {{ ns0 }}
ip link
# 启用主机这一头，并给它一个 {{ subnet }} 里的地址。
sudo ip link set {{ veth0 }} up
sudo ip addr add {{ veth0_ip }}/{{ prefix }} dev {{ veth0 }}
# 现在进入 {{ ns0 }}，配置另一头。
sudo nsenter --net=/var/run/netns/{{ ns0 }} bash
# 新命名空间里的回环设备一开始是关闭的：也把它打开。
ip link set lo up
ip link set {{ ceth0 }} up
ip addr add {{ ns0_ip }}/{{ prefix }} dev {{ ceth0 }}
ip link
# 穿过网线，到达主机那一头。
ping -c 2 {{ veth0_ip }}
# 地址带来了一条通往整个 {{ subnet }} 的路由，除此之外什么也没有。
ip route
# 所以去任何别的目的地都是 "Network is unreachable"。
ping -c 2 {{ host_ip }}
ping -c 2 {{ internet_ip }}
exit
# 再从主机这边，穿过网线到达容器那一头。
ping -c 2 {{ ns0_ip }}
ip route
