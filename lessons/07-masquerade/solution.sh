# Rewrite the source of the containers' outgoing packets to the host's address.
# (The article writes "!-o {{ bridge }}"; current iptables needs a space: "! -o {{ bridge }}".)
sudo iptables -t nat -A POSTROUTING -s {{ subnet }} ! -o {{ bridge }} -j MASQUERADE
# The rule, as iptables stores it.
sudo iptables -t nat --list-rules
# Now the replies come back, addressed to {{ host_ip }} and translated back to the container.
sudo nsenter --net=/var/run/netns/{{ ns0 }} bash
ping -c 2 {{ internet_ip }}
exit
# The same rule covers every container on {{ subnet }}.
sudo nsenter --net=/var/run/netns/{{ ns1 }} bash
ping -c 2 {{ internet_ip }}
exit
# Everything else stays open: the default policies are ACCEPT.
sudo iptables -S
