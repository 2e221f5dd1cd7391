# 在 {{ ns0 }} 里启动一个 Web 服务器，监听容器的地址和端口 {{ port }}。
# "&" 让它在后台运行；它的日志送到 /dev/null。
sudo nsenter --net=/var/run/netns/{{ ns0 }} bash
python3 -m http.server --bind {{ ns0_ip }} {{ port }} >/dev/null 2>&1 &
sleep 1
exit
# 从主机看，容器只有一跳之遥：网页回来了。
curl -s {{ ns0_ip }}:{{ port }} | head -n 4
# 外面的客户端只知道主机的地址，而那里没有谁在监听。
curl {{ host_ip }}:{{ port }}
# 发布端口：到达的发往 {{ host_ip }}:{{ port }} 的流量被转交给容器。
sudo iptables -t nat -A PREROUTING -d {{ host_ip }} -p tcp -m tcp --dport {{ port }} \
    -j DNAT --to-destination {{ ns0_ip }}:{{ port }}
# 主机自己的连接跳过 PREROUTING：OUTPUT 里的同一条规则覆盖它们。
sudo iptables -t nat -A OUTPUT -d {{ host_ip }} -p tcp -m tcp --dport {{ port }} \
    -j DNAT --to-destination {{ ns0_ip }}:{{ port }}
sudo iptables -t nat --list-rules
# 让 iptables 看见穿过网桥的流量（这个实验的内核已内置这项功能）。
sudo modprobe br_netfilter
# 发布的端口有回应了。
curl -s {{ host_ip }}:{{ port }} | head -n 4
