# "bridge" 模式就是你搭建的：第 8 课的服务器在 {{ ns0 }} 里运行。哪些进程
# 住在那个命名空间里？`ip netns pids` 通过它们的 /proc/PID/ns/net 链接找到它们。
sudo ip netns pids {{ ns0 }}
pid=$(sudo ip netns pids {{ ns0 }} | head -n 1)
ps -o pid,args -p "$pid"
# 它的网络命名空间不是你的 shell 所在的那个：比较这两个链接。
sudo readlink /proc/$pid/ns/net /proc/$$/ns/net
# "host" 模式：启动一个没有自己命名空间的服务器。它直接绑定 eth0 的地址。
sudo python3 -m http.server --bind {{ host_ip }} {{ host_port }} >/dev/null 2>&1 &
sleep 1
sudo readlink /proc/$!/ns/net
# 这里不涉及 DNAT 规则：主机自己的地址和端口直接应答。
curl -s {{ host_ip }}:{{ host_port }} | head -n 2
# "none" 模式：一个进程在属于自己的命名空间里，里面除了 lo 什么都没有。
sudo unshare --net sleep infinity >/dev/null 2>&1 &
sleep 0.5
sudo readlink /proc/$!/ns/net
sudo nsenter --target $! --net ip link
sudo nsenter --target $! --net ping -c 1 -W 1 {{ internet_ip }} || echo "no network at all"
