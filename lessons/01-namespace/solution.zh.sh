# 给主机的防火墙加一条空的自定义链作为记号，以后就能认出它。
sudo iptables -N ROOT_NS
# 主机的网络设备：回环设备和 {{ host_if }}。
ip link
# 主机的路由：本地网络，以及一条经由 {{ router_ip }} 的默认路由。
ip route
# 主机的防火墙规则，包括 ROOT_NS。
sudo iptables --list-rules
# 创建第二个空的网络栈，并给它起个名字。
sudo ip netns add {{ ns0 }}
ip netns
# 启动一个网络在 {{ ns0 }} 里的 shell；下面的命令都在那里运行。
sudo nsenter --net=/var/run/netns/{{ ns0 }} bash
# 只有一个回环设备，而且没有启用。
ip link
# 完全没有路由。
ip route
# 只有默认策略，没有 ROOT_NS：这是另一个独立的防火墙。
iptables --list-rules
# 离开 {{ ns0 }}，回到主机的 shell。
exit
