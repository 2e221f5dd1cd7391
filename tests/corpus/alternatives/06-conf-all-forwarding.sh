# lesson: 06-ip-forward
# conf/all/forwarding is the same switch as ip_forward.
echo 1 > /proc/sys/net/ipv4/conf/all/forwarding
