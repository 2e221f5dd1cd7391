"""The vocabulary of diagnoses: one code names the primary cause of a failure.

Codes keep their meaning once published (graders and course tools key on them);
new codes may be added.
"""

from __future__ import annotations

CAUSES: dict[str, str] = {
    "netns-missing": "a network namespace the milestone needs does not exist",
    "link-missing": "an interface the milestone needs does not exist",
    "link-wrong-netns": "the interface exists, but in another namespace",
    "link-down": "an interface on the path is down (or its veth peer is)",
    "address-missing": "an interface has no (or the wrong) IPv4 address",
    "route-missing": "a namespace has no route to the destination",
    "route-clash": "two routes for the same network: the kernel uses the first one",
    "not-bridged": "a veth end is not a port of the bridge",
    "gateway-missing": "a container has no default route to leave its subnet",
    "gateway-unreachable": "the default route points to an address nobody answers for",
    "ip-forward-off": "the host does not forward packets between interfaces",
    "masquerade-missing": "packets leave with a private source address the outside cannot answer",
    "forward-blocked": "the iptables FORWARD chain drops the traffic",
    "firewall-blocked": "an iptables INPUT or OUTPUT rule or policy drops the traffic",
    "dnat-missing": "no PREROUTING DNAT rule: clients from outside reach nothing",
    "dnat-local-missing": "no OUTPUT DNAT rule: clients on the host itself reach nothing",
    "dnat-wrong": "a DNAT rule exists but sends traffic to the wrong place",
    "service-down": "nothing listens on the destination address and port",
    "state-wrong": "the kernel state differs from what the milestone asks for",
}
