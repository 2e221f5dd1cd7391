# 容器能到达主机，但更远的世界一片沉默。
sudo nsenter --net=/var/run/netns/{{ ns0 }} bash
ping -c 2 -W 1 {{ internet_ip }}
exit
# Linux 默认不是路由器：发给别人的数据包会被丢弃。
cat /proc/sys/net/ipv4/ip_forward
# 打开转发（重定向必须以 root 身份运行，所以用 bash -c）。
sudo bash -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
cat /proc/sys/net/ipv4/ip_forward
# 再试一次：请求现在从 {{ host_if }} 出去了，可是没有回复回来。
sudo nsenter --net=/var/run/netns/{{ ns0 }} bash
ping -c 2 -W 1 {{ internet_ip }}
exit
# 主机认得两边；互联网只认得 {{ host_net }}，不认得 {{ subnet }}。
# 发给私有源地址 {{ ns0_ip }} 的回复无处可去。
ip route
