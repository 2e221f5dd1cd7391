# root 什么都能搭；普通用户却不能给主机加 veth。
# 变成这个世界里的非特权用户（exit 回到 root）。
su - {{ learner }}
id
# 一个你在其中是 root 的用户命名空间，加上它拥有的网络命名空间：不需要任何特权。
unshare --user --map-root-user --net sleep infinity >/dev/null 2>&1 &
pid=$!
sleep 0.5
# 里面：只有 lo，未启用。从那里什么也到不了主机。
nsenter --target $pid --user --preserve-credentials --net ip link
# slirp4netns 在里面放一个 {{ tap }}，并用你自己的普通套接字把流量带出去。
slirp4netns --configure --mtu=65520 --disable-host-loopback $pid {{ tap }} >/dev/null 2>&1 &
sleep 1
nsenter --target $pid --user --preserve-credentials --net ip addr show {{ tap }}
nsenter --target $pid --user --preserve-credentials --net ip route
# Web 服务器说出它看到的地址：是主机的，而不是 {{ slirp_ip }}。
nsenter --target $pid --user --preserve-credentials --net curl -s {{ internet_ip }}
# ICMP 过不去：slirp4netns 在主机上没有 CAP_NET_RAW。
nsenter --target $pid --user --preserve-credentials --net ping -c 1 -W 1 {{ internet_ip }} || echo "no ping"
# 回到 root：主机上一块新网卡也没有。
exit
ip link
