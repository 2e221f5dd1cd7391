# lesson: 08
# cause: service-down
# base: base4 base5 base6 base7 base8
# DNAT rules in place but no server running.
true
