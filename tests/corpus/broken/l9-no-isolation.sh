# lesson: 09
# cause: state-wrong
# base: base4 base5 base6 base7 server base8 base9 docker9
# FORWARD never jumps to the isolation chains: netns2 reaches netns0's port.
iptables -D FORWARD -j DOCKER-ISOLATION-STAGE-1
