"""Ask the kernel which rule stopped a packet: counters before and after one probe.

The tracer's model of the firewall is a model: a match it does not know
(``-m physdev``, ``-m length``, an nft expression it cannot read) leaves it
guessing. The kernel knows. Every iptables rule and built-in chain policy keeps
a packet counter, in both backends (``iptables-save -c``,
``iptables-legacy-save -c``), and so does every nftables rule with a
``counter`` statement (``nft -j list ruleset``). So: read the counters in
every namespace, send one packet of the flow, read them again. A DROP or
REJECT rule, or a DROP policy, whose counter moved is where the packet died,
for certain; the rules that counted and let it go show the path it took.

This costs two parallel reads and one packet, and is used only when the model
cannot explain a loss on its own (:meth:`checks.diagnose.Tracer.explain`).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import time
from dataclasses import dataclass

from checks.netfilter import Flow
from lab import inns
from lab.state import WorldState, read_firewall
from lab.world import World

#: how long the probe packet is given to cross the world before counters are read again
SETTLE = 0.05


@dataclass(frozen=True)
class Counted:
    """A rule or policy whose packet counter moved while the probe travelled."""

    ns: str
    backend: str
    hook: str | None  # the base chain's hook when the chain is a base chain
    chain: str
    listing: str  # "-A FORWARD ... -j DROP" / "-P FORWARD DROP" / nft rule text
    packets: int
    drops: bool

    def evidence(self) -> str:
        return (
            f"{self.ns}: {self.listing} ({self.backend}) counted {self.packets} "
            f"packet{'s' if self.packets != 1 else ''} during the probe"
        )


Counters = dict[tuple[str, ...], tuple[int, str, str | None, str, bool]]


def read_counters_here() -> Counters:
    """Every counter of every backend in the calling namespace.

    Key: (backend, family, table, chain, position); value: (packets, listing,
    hook, chain, drops).
    """
    fw = read_firewall()
    out: Counters = {}
    hooks = {(c.backend, c.family, c.table, c.name): c.hook for c in fw.all_chains}
    for chain in fw.all_chains:
        if chain.hook is not None and chain.packets is not None:
            key = (chain.backend, chain.family, chain.table, chain.name, "policy")
            drops = chain.policy in ("DROP", "REJECT")
            out[key] = (chain.packets, chain.policy_listing(), chain.hook, chain.name, drops)
    position: dict[tuple[str, ...], int] = {}
    for rule in fw.rules:
        if rule.packets is None:
            continue
        where = (rule.backend, rule.family, rule.table, rule.chain)
        position[where] = position.get(where, 0) + 1
        key = (*where, str(position[where]))
        drops = rule.target in ("DROP", "REJECT")
        out[key] = (rule.packets, rule.listing(), hooks.get(where), rule.chain, drops)
    return out


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def send_one_here(dst: str, proto: str, port: int | None) -> bool:
    """Send one packet of the flow from the calling namespace, without waiting for answers."""
    try:
        if proto == "tcp" and port:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.setblocking(False)
                with contextlib.suppress(BlockingIOError, OSError):
                    sock.connect((dst, port))
                time.sleep(SETTLE)
            return True
        if proto == "udp" and port:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.sendto(b"cnlab", (dst, port))
        else:
            header = struct.pack("!BBHHH", 8, 0, 0, 0x6E6C, 1)
            payload = b"cnlab-witness"
            packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), 0x6E6C, 1) + payload
            with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
                sock.sendto(packet, (dst, 0))
        time.sleep(SETTLE)
        return True
    except OSError:
        return False


class Witness:
    """Counters read in the world's namespaces around one packet of a flow."""

    def __init__(self, world: World, state: WorldState) -> None:
        self.world = world
        self.names = list(state.namespaces)

    def __call__(self, flow: Flow) -> list[Counted]:
        jobs = [(ns, read_counters_here, ()) for ns in self.names]
        before = inns.run_many(self.world, jobs)
        sent = inns.run(self.world, flow.src_ns, send_one_here, flow.dst, flow.proto, flow.dport)
        after = inns.run_many(self.world, jobs) if sent else before
        return moved(self.names, before, after)


def moved(names: list[str], before: list[object], after: list[object]) -> list[Counted]:
    """The counters that grew between two readings, namespace by namespace."""
    found = []
    for ns, old, new in zip(names, before, after, strict=True):
        if not isinstance(old, dict) or not isinstance(new, dict):
            continue
        for key, (packets, listing, hook, chain, drops) in new.items():
            grew = packets - old.get(key, (0,))[0]
            if grew > 0:
                found.append(Counted(ns, key[0], hook, chain, listing, grew, drops))
    return found
