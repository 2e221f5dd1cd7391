# lesson: 06-ip-forward
sysctl -w net.ipv4.ip_forward=1 >/dev/null
