"""The vocabulary of diagnoses: one code names the primary cause of a failure.

Every failing milestone names exactly one :class:`Cause`. A failure the tracer
cannot explain is not left blank: it is :attr:`Cause.UNEXPLAINED`, with the
evidence gathered and the commands to look further. Codes keep their meaning
once published (graders and course tools key on them); new codes may be added.
A cause is a ``str`` (``Cause.ROUTE_CLASH == "route-clash"``), so it prints and
serialises as its code. Codes are never translated; descriptions are, when shown.
"""

from __future__ import annotations

from lab.compat import StrEnum
from lab.i18n import N_, _


class Cause(StrEnum):
    NETNS_MISSING = "netns-missing"
    LINK_MISSING = "link-missing"
    LINK_WRONG_NETNS = "link-wrong-netns"
    LINK_DOWN = "link-down"
    ADDRESS_MISSING = "address-missing"
    ADDRESS_DUPLICATE = "address-duplicate"
    PREFIX_WRONG = "prefix-wrong"
    ROUTE_MISSING = "route-missing"
    ROUTE_CLASH = "route-clash"
    RP_FILTER = "rp-filter"
    NEIGHBOUR_WRONG = "neighbour-wrong"
    NOT_BRIDGED = "not-bridged"
    GATEWAY_MISSING = "gateway-missing"
    GATEWAY_UNREACHABLE = "gateway-unreachable"
    GATEWAY_WRONG = "gateway-wrong"
    IP_FORWARD_OFF = "ip-forward-off"
    MASQUERADE_MISSING = "masquerade-missing"
    FORWARD_BLOCKED = "forward-blocked"
    FIREWALL_BLOCKED = "firewall-blocked"
    DNAT_MISSING = "dnat-missing"
    DNAT_LOCAL_MISSING = "dnat-local-missing"
    DNAT_WRONG = "dnat-wrong"
    SERVICE_DOWN = "service-down"
    SLIRP_MISSING = "slirp-missing"
    STATE_WRONG = "state-wrong"
    NOT_SEEN = "not-seen"
    UNEXPLAINED = "unexplained"

    @property
    def description(self) -> str:
        """The one-line description in the current language (:mod:`lab.i18n`)."""
        return _(_DESCRIPTIONS[self])


_DESCRIPTIONS: dict[Cause, str] = {
    Cause.NETNS_MISSING: N_("a network namespace the milestone needs does not exist"),
    Cause.LINK_MISSING: N_("an interface the milestone needs does not exist"),
    Cause.LINK_WRONG_NETNS: N_("the interface exists, but in another namespace"),
    Cause.LINK_DOWN: N_("an interface on the path is down (or its veth peer is)"),
    Cause.ADDRESS_MISSING: N_("an interface has no (or the wrong) IPv4 address"),
    Cause.ADDRESS_DUPLICATE: N_("two interfaces on one segment have the same address"),
    Cause.PREFIX_WRONG: N_("an address has the wrong prefix length, so its network is wrong"),
    Cause.ROUTE_MISSING: N_("a namespace has no route to the destination"),
    Cause.ROUTE_CLASH: N_("two routes for the same network: the kernel uses the first one"),
    Cause.RP_FILTER: N_("reverse-path filtering drops packets whose source routes elsewhere"),
    Cause.NEIGHBOUR_WRONG: N_("a static ARP entry sends the next hop's frames to the wrong MAC"),
    Cause.NOT_BRIDGED: N_("a veth end is not a port of the bridge"),
    Cause.GATEWAY_MISSING: N_("a container has no default route to leave its subnet"),
    Cause.GATEWAY_UNREACHABLE: N_("the default route points to an address nobody answers for"),
    Cause.GATEWAY_WRONG: N_("the default route points to a machine that does not route"),
    Cause.IP_FORWARD_OFF: N_("the host does not forward packets between interfaces"),
    Cause.MASQUERADE_MISSING: (
        N_("packets leave with a private source address the outside cannot answer")
    ),
    Cause.FORWARD_BLOCKED: N_("a FORWARD rule or policy (iptables or nftables) drops the traffic"),
    Cause.FIREWALL_BLOCKED: N_("an INPUT or OUTPUT rule or policy (iptables or nftables) drops it"),
    Cause.DNAT_MISSING: N_("no PREROUTING DNAT rule: clients from outside reach nothing"),
    Cause.DNAT_LOCAL_MISSING: N_("no OUTPUT DNAT rule: clients on the host itself reach nothing"),
    Cause.DNAT_WRONG: N_("a DNAT rule exists but sends traffic to the wrong place"),
    Cause.SERVICE_DOWN: N_("nothing listens on the destination address and port"),
    Cause.SLIRP_MISSING: N_(
        "no slirp4netns serves the rootless namespace, so nothing carries its packets out"
    ),
    Cause.STATE_WRONG: N_("the kernel state differs from what the milestone asks for"),
    Cause.NOT_SEEN: N_("the learner has not yet run the command that shows it (in that namespace)"),
    Cause.UNEXPLAINED: (
        N_(
            "the packets were lost and the lab's model sees no reason: the evidence and "
            "commands to look further are attached"
        )
    ),
}

#: code -> one-line description (the published vocabulary).
CAUSES: dict[str, str] = {cause.value: _DESCRIPTIONS[cause] for cause in Cause}
