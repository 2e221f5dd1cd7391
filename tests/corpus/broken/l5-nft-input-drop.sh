# lesson: 05
# cause: firewall-blocked
# base: base4 base5
# A native nftables input chain on the host with policy drop.
nft add table inet lab
nft 'add chain inet lab in { type filter hook input priority 0; policy drop; }'
nft add rule inet lab in iifname lo accept
