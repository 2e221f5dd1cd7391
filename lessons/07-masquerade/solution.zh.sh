# 把容器发出的数据包的源地址改写成主机的地址。
# （原文写的是 "!-o {{ bridge }}"；现在的 iptables 需要一个空格："! -o {{ bridge }}"。）
sudo iptables -t nat -A POSTROUTING -s {{ subnet }} ! -o {{ bridge }} -j MASQUERADE
# iptables 保存下来的这条规则。
sudo iptables -t nat --list-rules
# 现在回复回来了：发给 {{ host_ip }}，再被转换回容器的地址。
sudo nsenter --net=/var/run/netns/{{ ns0 }} bash
ping -c 2 {{ internet_ip }}
exit
# 同一条规则适用于 {{ subnet }} 上的每个容器。
sudo nsenter --net=/var/run/netns/{{ ns1 }} bash
ping -c 2 {{ internet_ip }}
exit
# 其他一切仍然敞开：默认策略都是 ACCEPT。
sudo iptables -S
