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

Native nftables rules need not have counters, so in a namespace with native
chains the kernel is also asked to *trace* the packet: a short-lived table
``cnlab_trace`` marks packets with ``meta nftrace set 1`` at the first hooks,
``nft monitor trace`` reports every chain, rule and verdict they meet, and the
table is removed again. A ``verdict drop`` (or ``policy drop``) line names
where the packet died.

This costs two parallel reads and one packet, and is used only when the model
cannot explain a loss on its own (:meth:`checks.diagnose.Tracer.explain`).
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import struct
import subprocess
import time
from dataclasses import dataclass

from pyroute2 import IPRoute

from checks.netfilter import Flow
from lab import inns, rules
from lab.i18n import ngettext
from lab.rules import NFTABLES, TRACE_TABLE, Firewall
from lab.state import (
    Namespace,
    WorldState,
    forget_unresolved_neighbours_here,
    read_current_namespace,
    read_firewall,
)
from lab.world import World

#: how long the probe packet is given to cross the world before counters are read again
SETTLE = 0.05
ICMP_ID = 0x6E6C  # the witness's echo id ("nl"), how its packets are told apart


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
        return ngettext(
            "{ns}: {listing} ({backend}) counted {packets} packet during the probe",
            "{ns}: {listing} ({backend}) counted {packets} packets during the probe",
            self.packets,
        ).format(ns=self.ns, listing=self.listing, backend=self.backend, packets=self.packets)


Counters = dict[tuple[str, ...], tuple[int, str, str | None, str, bool]]


def read_counters_here() -> Counters:
    """Every counter of every backend in the calling namespace (see :func:`counters_of`)."""
    return counters_of(read_firewall(counters=True))


def snapshot_and_counters_here(name: str) -> tuple[Namespace, Counters]:
    """The calling namespace's snapshot and its counters, from ONE reading of its rules.

    Stale neighbour entries are dropped first, as for a check
    (:func:`lab.state.forget_unresolved_neighbours_here`): a probe follows.
    """
    with IPRoute() as ipr:
        forget_unresolved_neighbours_here(ipr)
        counted = read_firewall(counters=True)
        space = read_current_namespace(name, rules.without_counters(counted), ipr)
    return space, counters_of(counted)


def counters_then_read_here(name: str, said_fd: int) -> tuple[Namespace, Counters]:
    """As :func:`snapshot_and_counters_here`, saying on ``said_fd`` (one byte) as soon as
    the counters are read: a probe may go then, while the rest of the snapshot is read
    (see :func:`lab.state.start_reading`)."""
    with IPRoute() as ipr:
        try:
            forget_unresolved_neighbours_here(ipr)
            counted = read_firewall(counters=True)
        finally:
            os.write(said_fd, b".")
            os.close(said_fd)
        space = read_current_namespace(name, rules.without_counters(counted), ipr)
    return space, counters_of(counted)


def counters_of(fw: Firewall) -> Counters:
    """Every counter of a firewall read with its counters.

    Key: (backend, family, table, chain, position); value: (packets, listing,
    hook, chain, drops).
    """
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
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
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
            header = struct.pack("!BBHHH", 8, 0, 0, ICMP_ID, 1)
            payload = b"cnlab-witness"
            packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ICMP_ID, 1) + payload
            with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
                sock.sendto(packet, (dst, 0))
        time.sleep(SETTLE)
        return True
    except OSError:
        return False


def _nft(*args: str) -> bool:
    try:
        done = subprocess.run(["nft", *args], capture_output=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def trace_here(ready_fd: int, window: float) -> list[str]:
    """In the calling namespace: trace packets for ``window`` seconds; the lines seen.

    Writes one byte to ``ready_fd`` once ``nft monitor trace`` listens; the
    tracing table is removed whatever happens.
    """
    chains = (("pre", "prerouting"), ("out", "output"))
    _nft("delete", "table", "inet", TRACE_TABLE)  # one a killed trace may have left
    try:
        if not _nft("add", "table", "inet", TRACE_TABLE):
            return []
        for name, hook in chains:
            spec = f"{{ type filter hook {hook} priority -400; }}"
            _nft("add", "chain", "inet", TRACE_TABLE, name, spec)
            _nft("add", "rule", "inet", TRACE_TABLE, name, "meta", "nftrace", "set", "1")
        with subprocess.Popen(
            ["nft", "monitor", "trace"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        ) as monitor:
            time.sleep(SETTLE)
            os.write(ready_fd, b"1")
            time.sleep(window)
            monitor.terminate()
            out, _ = monitor.communicate(timeout=2)
        return out.decode(errors="replace").splitlines()
    finally:
        os.close(ready_fd)
        _nft("delete", "table", "inet", TRACE_TABLE)


def traced_drops(ns: str, lines: list[str], flow: Flow, state: WorldState) -> list[Counted]:
    """The drops among ``nft monitor trace`` lines, for the witness's own packets only."""
    ours = set()
    for line in lines:
        words = line.split()
        if len(words) > 2 and "packet:" in words and _is_ours(line, flow):
            ours.add(words[2])
    found = []
    for line in lines:
        words = line.split()
        if (
            len(words) < 6
            or words[2] not in ours
            or (words[3] == "inet" and words[4] == TRACE_TABLE)
        ):
            continue
        if "(verdict drop)" in line or "policy drop" in line:
            family, table, chain = words[3], words[4], words[5]
            listing = " ".join(words[6:]).replace(" (verdict drop)", "")
            hook, backend = _chain_facts(state, ns, family, table, chain)
            found.append(
                Counted(ns, backend, hook, chain, f"{family} {table} {chain}: {listing}", 1, True)
            )
    return found


def _is_ours(line: str, flow: Flow) -> bool:
    if flow.proto == "icmp":
        return f"icmp id {ICMP_ID}" in line
    return f"daddr {flow.dst}" in line or (flow.dport is not None and f"dport {flow.dport}" in line)


def _chain_facts(
    state: WorldState, ns: str, family: str, table: str, chain: str
) -> tuple[str | None, str]:
    space = state.ns(ns)
    if space is not None:
        for c in space.firewall.all_chains:
            if (c.family, c.table, c.name) == (family, table, chain):
                return c.hook, c.backend
    return None, NFTABLES


class Witness:
    """Counters (and nftables traces) read in the world's namespaces around one packet."""

    def __init__(self, world: World, state: WorldState) -> None:
        self.world = world
        self.state = state
        self.names = list(state.namespaces)

    def __call__(self, flow: Flow) -> list[Counted]:
        jobs = [(ns, read_counters_here, ()) for ns in self.names]
        tracers = self._start_tracers()
        try:
            before = inns.run_many(self.world, jobs)
            sent = inns.run(
                self.world, flow.src_ns, send_one_here, flow.dst, flow.proto, flow.dport
            )
            after = inns.run_many(self.world, jobs) if sent else before
        finally:
            traced = [(ns, inns.collect(pending, timeout=5.0)) for ns, pending in tracers]
        found = moved(self.names, before, after)
        for ns, lines in traced:
            found += traced_drops(ns, lines if isinstance(lines, list) else [], flow, self.state)
        return found

    def _start_tracers(self) -> list[tuple[str, inns.Pending]]:
        """A trace in every namespace with native nftables chains, all listening on return."""
        native = [
            name
            for name, space in self.state.namespaces.items()
            if any(c.backend == NFTABLES for c in space.firewall.all_chains)
        ]
        started = []
        for name in native:
            ready_r, ready_w = os.pipe()
            try:
                started.append((name, inns.start(self.world, name, trace_here, ready_w, 0.4)))
            finally:
                os.close(ready_w)
            with contextlib.suppress(OSError):
                select.select([ready_r], [], [], 2.0)
            os.close(ready_r)
        return started


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
