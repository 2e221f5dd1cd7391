# lesson: 07-masquerade
# Native nftables, no iptables at all.
nft add table ip nat
nft 'add chain ip nat postrouting { type nat hook postrouting priority 100 ; }'
nft add rule ip nat postrouting ip saddr 172.18.0.0/16 oifname != "br0" masquerade
