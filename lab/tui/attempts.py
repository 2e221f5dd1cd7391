"""Has the learner tried a milestone yet? Judged from the commands the lab records.

A milestone's diagnosis ("Create it with ``ip netns add netns0``") is an answer;
shown before the learner has tried anything, it makes the hints pointless. So
the milestones panel shows a milestone's cause only once the learner has
*attempted* it, or asked for a hint: before that it shows what is expected.

A command touches a milestone when it uses the tool the milestone is about (a
keyword of its check kind: ``netns``, ``link``, ``addr``, ``route``,
``iptables``, ``ping``...) and, when the milestone names things (a namespace,
a device, an address, a chain, a port), names one of them as a whole word.
``ip netns add netns0`` touches "netns0 exists"; ``ip netns`` alone (a look
around) does not. A look (``ip link``) is what touches an observation of the
``looked`` kind: then what is still unseen is said. Pure: no Textual, no kernel.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from lab import record
from lab.lessons import Milestone

# the tools a check kind is about; a command must use one of them (case-insensitive)
KEYWORDS: dict[str, tuple[str, ...]] = {
    "netns_exists": ("netns",),
    "link": ("link",),
    "address": ("addr",),
    "no_address": ("addr",),
    "route": ("route",),
    "route_clash": ("route", "addr"),
    "ip_forward": ("ip_forward", "sysctl"),
    "masquerade": ("masquerade", "postrouting"),
    "dnat": ("dnat", "prerouting"),
    "iptables_chain": ("iptables",),
    "ping": ("ping", "arping", "traceroute", "curl"),
    "arp": ("ping", "arping", "arp", "neigh"),
    "nat_source": ("ping", "curl", "tcpdump"),
    "http": ("curl", "wget", "http", "nc "),
    "listening": ("http.server", "nc ", "socat", "python", "listen"),
    "pinged": ("ping",),
}
# the arguments that name what a command would mention; the others say how to judge
NAMING: dict[str, tuple[str, ...]] = {
    "netns_exists": ("ns",),
    "link": ("name", "master", "peer"),
    "address": ("dev", "address"),
    "no_address": ("dev",),
    "route": ("dst", "dev", "via"),
    "route_clash": ("dst",),
    "iptables_chain": ("chain",),
    "ping": ("to",),
    "arp": ("to",),
    "nat_source": ("to",),
    "http": ("to", "port"),
    "listening": ("port",),
    "pinged": ("to",),
}
NOT_A_NAME = {"host", ""}
# a command that changes something (as opposed to one that looks)
CHANGES = re.compile(r"\b(add|del|delete|set|replace|change|flush)\b|\s-[AINDRPw]\b|>")


def _names(milestone: Milestone) -> list[str]:
    names = []
    for key in NAMING.get(milestone.check, ()):
        value = str(milestone.args.get(key, "")).strip()
        if value.lower() not in NOT_A_NAME:
            names.append(value)
            if "/" in value:  # 172.18.0.10/16: typing the address alone counts too
                names.append(value.split("/")[0])
    return names


def _mentions(command: str, name: str) -> bool:
    return re.search(rf"(?<![\w.]){re.escape(name)}(?![\w])", command, re.IGNORECASE) is not None


def touches(milestone: Milestone, command: str) -> bool:
    """Does ``command`` work on (or look at) what ``milestone`` is about?"""
    if milestone.check == "looked":  # looking at anything is trying to see
        ran = record.commands_of(record.Line("", command, 0, 0.0))
        return any(record.shows(r, part) for r in ran for part in ("devices", "routes", "firewall"))
    low = command.lower()
    keywords = KEYWORDS.get(milestone.check, ())
    if keywords and not any(word in low for word in keywords):
        return False
    names = _names(milestone)
    if not names or CHANGES.search(command):
        return True
    return any(_mentions(command, name) for name in names)


def attempted(milestones: Iterable[Milestone], commands: Iterable[str]) -> set[str]:
    """The ids of the milestones some command touched."""
    typed = list(commands)
    return {m.id for m in milestones if any(touches(m, c) for c in typed)}
