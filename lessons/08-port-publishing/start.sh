#!/usr/bin/env bash
# End of lesson 7: both containers on {{ bridge }} reach the internet; the host forwards
# packets and masquerades {{ subnet }}. No server runs yet, no port is published.
{% include "07-masquerade/start.sh" %}
iptables -t nat -A POSTROUTING -s {{ subnet }} ! -o {{ bridge }} -j MASQUERADE
