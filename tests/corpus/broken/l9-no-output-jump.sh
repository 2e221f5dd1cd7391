# lesson: 09
# cause: dnat-local-missing
# base: base4 base5 base6 base7 server base8 base9 docker9
# The nat OUTPUT chain never jumps to DOCKER: the host's own clients reach nothing.
iptables -t nat -D OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
