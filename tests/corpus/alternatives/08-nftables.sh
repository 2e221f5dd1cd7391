# lesson: 08-port-publishing
# Native nftables: one table with a prerouting and an output nat chain.
ip netns exec netns0 python3 -m http.server --bind 172.18.0.10 5000 >/dev/null 2>&1 &
for i in $(seq 50); do ip netns exec netns0 ss -ltn | grep -q :5000 && break; sleep 0.1; done
nft add table ip publish
nft 'add chain ip publish pre { type nat hook prerouting priority dstnat ; }'
nft 'add chain ip publish out { type nat hook output priority -100 ; }'
nft add rule ip publish pre ip daddr 10.0.2.15 tcp dport 5000 dnat to 172.18.0.10:5000
nft add rule ip publish out ip daddr 10.0.2.15 tcp dport 5000 dnat to 172.18.0.10:5000
