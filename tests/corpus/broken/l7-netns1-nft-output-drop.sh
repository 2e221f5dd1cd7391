# lesson: 07
# cause: firewall-blocked
# base: base4 base5 base6 base7
# netns1's native nftables output chain drops ICMP.
ip netns exec netns1 nft add table ip lab
ip netns exec netns1 nft 'add chain ip lab out { type filter hook output priority 0; }'
ip netns exec netns1 nft add rule ip lab out ip protocol icmp drop
