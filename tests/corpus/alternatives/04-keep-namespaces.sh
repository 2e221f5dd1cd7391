# lesson: 04-bridge
# Keep the namespaces, only move the addresses off the host ends and bridge them
# (a bridge made with STP off, brought up last).
ip addr flush dev veth0
ip addr flush dev veth1
ip link add name br0 type bridge stp_state 0
ip link set veth0 master br0
ip link set veth1 master br0
ip link set br0 up
