# End of lesson 6: the host forwards.
echo 1 > /proc/sys/net/ipv4/ip_forward
