# lesson: 04
# cause: forward-blocked
# base: base4
# ebtables (the bridge layer's own firewall) drops every frame the bridge would switch.
ebtables -P FORWARD DROP
