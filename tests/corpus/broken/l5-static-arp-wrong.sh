# lesson: 05
# cause: neighbour-wrong
# base: base4 base5
# A static ARP entry left over from an experiment: netns0 sends its gateway's frames to a MAC nobody has.
ip -n netns0 neigh replace 172.18.0.1 lladdr 02:00:00:00:00:01 dev ceth0 nud permanent
