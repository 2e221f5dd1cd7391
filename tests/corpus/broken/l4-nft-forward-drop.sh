# lesson: 04
# cause: forward-blocked
# base: base4
# The same default-deny in native nftables.
nft add table inet lab
nft 'add chain inet lab fw_forward { type filter hook forward priority 0; policy drop; }'
