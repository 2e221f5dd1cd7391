# lesson: 07
# cause: ip-forward-off
# base: base4 base5 base7
# Masquerade in place, but the host never forwards.
true
