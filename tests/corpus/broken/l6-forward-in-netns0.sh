# lesson: 06
# cause: ip-forward-off
# base: base4 base5
# ip_forward written inside netns0 (the wrong namespace).
ip netns exec netns0 sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'
