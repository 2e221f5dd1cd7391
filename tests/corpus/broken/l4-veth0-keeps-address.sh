# lesson: 04
# cause: state-wrong
# base: base4
# The lesson-3 habit: veth0 keeps an address although it is a bridge port.
ip addr add 172.18.0.11/16 dev veth0
