# 第二个容器，和第一个的做法完全一样：一个命名空间……
sudo ip netns add {{ ns1 }}
# ……再加一个 veth 对，把其中一头移进去。
sudo ip link add {{ veth1 }} type veth peer name {{ ceth1 }}
sudo ip link set {{ ceth1 }} netns {{ ns1 }}
# 主机这一头：启用，并给它一个同在 {{ subnet }} 网络里的地址。
sudo ip link set {{ veth1 }} up
sudo ip addr add {{ veth1_ip }}/{{ prefix }} dev {{ veth1 }}
# 容器那一头，在 {{ ns1 }} 里面配置。
sudo nsenter --net=/var/run/netns/{{ ns1 }} bash
ip link set lo up
ip link set {{ ceth1 }} up
ip addr add {{ ns1_ip }}/{{ prefix }} dev {{ ceth1 }}
# 网线插好了，可主机那一头却不回应。
ping -c 2 -W 1 {{ veth1_ip }}
# 尽管路由看起来没问题。
ip route
exit
# 主机上有两条通往同一个网络的路由；先加入的那条胜出。
ip route
ip route get {{ ns1_ip }}
# 与此同时，{{ ns0 }} 却能和 {{ veth1 }} 通信，而那根本不是它的网线。
sudo nsenter --net=/var/run/netns/{{ ns0 }} bash
ping -c 2 {{ veth1_ip }}
exit
