# lesson: 02
# cause: firewall-blocked
# base: base2
# A native nftables output policy of drop inside netns0.
ip netns exec netns0 nft add table inet lab
ip netns exec netns0 nft 'add chain inet lab out { type filter hook output priority 0; policy drop; }'
