# Start a web server inside {{ ns0 }}, on the container's address and port {{ port }}.
# The "&" keeps it running in the background; its log goes to /dev/null.
sudo nsenter --net=/var/run/netns/{{ ns0 }} bash
python3 -m http.server --bind {{ ns0_ip }} {{ port }} >/dev/null 2>&1 &
sleep 1
exit
# From the host the container is one hop away: the page comes back.
curl -s {{ ns0_ip }}:{{ port }} | head -n 4
# Outside clients only know the host's address, and nothing listens there.
curl {{ host_ip }}:{{ port }}
# Publish the port: traffic arriving for {{ host_ip }}:{{ port }} goes on to the container.
sudo iptables -t nat -A PREROUTING -d {{ host_ip }} -p tcp -m tcp --dport {{ port }} \
    -j DNAT --to-destination {{ ns0_ip }}:{{ port }}
# The host's own connections skip PREROUTING: the same rule in OUTPUT covers them.
sudo iptables -t nat -A OUTPUT -d {{ host_ip }} -p tcp -m tcp --dport {{ port }} \
    -j DNAT --to-destination {{ ns0_ip }}:{{ port }}
sudo iptables -t nat --list-rules
# Let iptables see traffic that crosses the bridge (built into this lab's kernel).
sudo modprobe br_netfilter
# The published port answers.
curl -s {{ host_ip }}:{{ port }} | head -n 4
