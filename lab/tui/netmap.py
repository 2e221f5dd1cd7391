"""The network map: the live world drawn as text, one box per namespace.

:func:`render_map` is pure: it takes the world's state as the check server
sends it (a :class:`lab.model.WorldState`, read back from JSON) and a width, and
returns lines of text. Unit tests feed it hand-made snapshots. It shows, per
namespace: ``ip_forward``, every interface with its state and addresses, the
other end of each veth (``↔ netns0:ceth0``), bridges with their ports,
routes (a clash, two routes for one destination, is marked ``⚠``), NAT rules,
custom chains and non-default filter policies. The simulated internet is not
drawn (the learner never creates it); the host's ``eth0`` says where it leads.

Narrow widths stack the boxes; wide ones put them side by side and add a
list of the wires (veth pairs across namespaces). :class:`NetMap` is the
widget: it colours the text and scrolls when the map is taller than its room.
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from lab.i18n import _, ljust
from lab.i18n import width as cells
from lab.model import Link, Namespace, WorldState
from lab.rules import Firewall
from lab.tui.statediff import shown

HOST = "host"
INTERNET = "internet"
MIN_BOX = 34
MAX_BOX = 52


def link_state(link: Link) -> str:
    if not link.up:
        return "DOWN"
    return "UP" if link.carrier else "NO-CARRIER"


def clashes(ns: Namespace) -> set[str]:
    """Destinations that have two or more routes in this namespace."""
    counts = Counter(r.dst for r in ns.routes)
    return {dst for dst, n in counts.items() if n > 1}


def _order(state: WorldState) -> list[str]:
    names = list(state.namespaces)
    learner = sorted(n for n in names if n not in (HOST, INTERNET))
    return ([HOST] if HOST in names else []) + learner


def namespace_lines(state: WorldState, name: str) -> tuple[str, list[str]]:
    """(title, content lines) of one namespace's box, before wrapping."""
    ns = state.namespaces[name]
    fwd = "on" if ns.ip_forward else "off"
    title = f"{name} · ip_forward {fwd}"
    lines: list[str] = []
    for link in ns.links:
        lines.append(_link_line(state, name, link))
        if link.kind == "bridge":
            ports = [p.name for p in ns.links if p.master == link.name]
            lines.append(f"  ports: {', '.join(ports) if ports else 'none'}")
    lines += _route_lines(ns)
    lines += _firewall_lines(ns.firewall)
    return title, lines


def _link_line(state: WorldState, name: str, link: Link) -> str:
    """One link of namespace ``name``: state, addresses, bridge and veth peer."""
    bits = [f"{link.name:<6}", link_state(link)]
    if link.kind == "bridge":
        bits.insert(1, "bridge")
    bits += [a for a in link.addresses if link.name != "lo"]
    if link.master:
        bits.append(f"⊂ {link.master}")
    if link.kind == "veth":
        bits.append(_peer_text(state, name, link))
    return " ".join(bits)


def _peer_text(state: WorldState, name: str, link: Link) -> str:
    """Where a veth's other end lives: ``↔ ceth0``, ``↔ netns0:ceth0``, internet or ?."""
    peer = state.peer(name, link)
    if peer is None:
        return "↔ ?"
    if peer[0] == INTERNET:
        return "↔ internet"
    if peer[0] == name:
        return f"↔ {peer[1].name}"
    return f"↔ {peer[0]}:{peer[1].name}"


def _route_lines(ns: Namespace) -> list[str]:
    """The routing table, each clash marked, and which route of a clash the kernel uses."""
    if not ns.routes:
        return ["routes: none"]
    clash = clashes(ns)
    lines = ["routes:"]
    for route in ns.routes:
        text = route.text(full=False)
        lines.append(f"⚠ {text}  CLASH" if route.dst in clash else f"  {text}")
    for dst in sorted(clash):
        twins = [r for r in ns.routes if r.dst == dst]
        lines.append(
            _("⚠ {dst}: {count} routes, kernel uses dev {first_get}").format(
                dst=dst, count=len(twins), first_get=twins[0].dev
            )
        )
    return lines


def _firewall_lines(firewall: Firewall) -> list[str]:
    """NAT rules, user chains, policies that are not ACCEPT, and how many filter rules."""
    lines = [f"nat {rule.chain}: {rule.text}" for rule in firewall.rules if rule.table == "nat"]
    for table, chains in sorted(firewall.chains.items()):
        if chains:
            lines.append(f"{table} chains: {', '.join(chains)}")
    for table, policies in sorted(firewall.policies.items()):
        lines += [
            f"{table} {chain} policy {policy}"
            for chain, policy in sorted(policies.items())
            if policy != "ACCEPT"
        ]
    filters = [r for r in firewall.rules if r.table == "filter"]
    if filters:
        lines.append(f"filter: {len(filters)} rule{'s' if len(filters) != 1 else ''}")
    return lines


def wires(state: WorldState) -> list[str]:
    """Each veth pair once: ``host:veth0 ═══ netns0:ceth0``."""
    seen: set[tuple[str, str]] = set()
    out = []
    for name in _order(state):
        for link in state.namespaces[name].links:
            peer = state.peer(name, link)
            if peer is None or peer[0] == INTERNET:
                continue
            a = f"{name}:{link.name}"
            b = f"{peer[0]}:{peer[1].name}"
            key = (min(a, b), max(a, b))
            if key in seen:
                continue
            seen.add(key)
            both = link.up and peer[1].up
            out.append(f"{a} ═══ {b}" + ("" if both else _("  (a side is down)")))
    return out


def _cut(text: str, most: int) -> tuple[str, str]:
    """``text`` split after at most ``most`` terminal cells (Chinese takes two)."""
    used = 0
    for index, char in enumerate(text):
        used += cells(char)
        if used > most:
            return text[:index], text[index:]
    return text, ""


def _wrap(lines: list[str], inner: int) -> list[str]:
    out: list[str] = []
    for line in lines:
        if cells(line) <= inner:
            out.append(line)
            continue
        if cells(line) != len(line):  # wide characters: textwrap counts characters
            rest = line
            while rest:
                head, rest = _cut(rest, inner)
                out.append(head)
            continue
        indent = len(line) - len(line.lstrip()) + 2
        out += textwrap.wrap(
            line,
            width=inner,
            subsequent_indent=" " * min(indent, inner // 2),
            break_on_hyphens=False,
        ) or [line[:inner]]
    return out


def _box(title: str, lines: list[str], box_width: int) -> list[str]:
    inner = box_width - 4
    title = title if cells(title) <= inner - 1 else _cut(title, inner - 2)[0] + "…"
    top = "┌─ " + title + " " + "─" * max(box_width - cells(title) - 5, 0) + "┐"
    body = [f"│ {ljust(line, inner)} │" for line in _wrap(lines, inner)]
    return [top, *body, "└" + "─" * (box_width - 2) + "┘"]


def render_map(state: WorldState, width: int) -> list[str]:
    """The map of ``state`` as lines no wider than ``width``."""
    width = max(width, 20)
    if not state.namespaces:
        return [_("(no world state yet)")]
    boxes = [namespace_lines(state, name) for name in _order(state)]
    natural = max(
        [cells(title) + 6 for title, _ls in boxes]
        + [cells(line) + 4 for _title, ls in boxes for line in ls]
    )
    natural = max(MIN_BOX, min(MAX_BOX, natural))
    cols = max(1, min(len(boxes), width // natural))
    box_w = width // cols if cols > 1 else width
    out: list[str] = []
    for start in range(0, len(boxes), cols):
        drawn = [_box(t, ls, box_w) for t, ls in boxes[start : start + cols]]
        height = max(len(d) for d in drawn)
        for row in range(height):
            out.append("".join(d[row] if row < len(d) else " " * box_w for d in drawn).rstrip())
    pairs = wires(state)
    if cols > 1 and pairs:
        out.append(_("veth pairs: ") + "   ".join(pairs))
        out = out[:-1] + _wrap([out[-1]], width)
    return out


_HIGHLIGHTS = [
    (re.compile(r"\bUP\b"), "bold green"),
    (re.compile(r"\bDOWN\b|NO-CARRIER"), "bold red"),
    (re.compile(r"⚠.*"), "bold yellow"),
    (re.compile(r"ip_forward on"), "green"),
    (re.compile(r"ip_forward off"), "dim"),
    (re.compile(r"↔ \S+|═══"), "cyan"),
    (re.compile(r"\b\d+\.\d+\.\d+\.\d+(/\d+)?"), "magenta"),
    (re.compile(r"^(nat|filter) .*", re.M), "blue"),
]


def colourise(lines: list[str]) -> Text:
    text = Text("\n".join(lines), no_wrap=True, overflow="crop")
    for pattern, style in _HIGHLIGHTS:
        text.highlight_regex(pattern, style)
    return text


def goal_text(goal: str, diffs: list[str] | None) -> Text:
    """The goal beside the network: what the live world lacks or has in excess.

    ``diffs`` comes from :func:`lab.tui.statediff.goal_differences` (``None``: not
    known yet). Missing and wrong things are red, a route clash and extra
    things yellow.
    """
    text = Text()
    text.append(_("Goal: {goal}").format(goal=goal) + "\n", "bold")
    if diffs is None:
        text.append(_("comparing…") + "\n", "dim")
    elif not diffs:
        text.append(_("✔ your network is the goal\n"), "bold green")
    for diff in diffs or []:
        mark, style = _GOAL_MARKS.get(diff.split()[0], ("+ ", "yellow"))
        kind, what = shown(diff)
        text.append(mark, style)
        text.append(_("{kind}: ").format(kind=kind), style)
        text.append(f"{what}\n")
    return text


# how each kind of difference (lab.tui.statediff.goal_differences) is marked
_GOAL_MARKS = {
    "missing": ("✘ ", "red"),
    "wrong": ("✘ ", "red"),
    "clash": ("⚠ ", "bold yellow"),
    "extra": ("+ ", "yellow"),
}


class NetMap(VerticalScroll):
    """The map widget: redraws when the state or its width changes; the goal on top."""

    DEFAULT_CSS = """
    NetMap { height: 1fr; scrollbar-size-vertical: 1; }
    NetMap > Static { width: 100%; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.state: WorldState | None = None
        self.note = _("waiting for the first look at the world…")
        self._body = Static(self.note, id="map-body")
        self._goal = Static("", id="map-goal")
        self._goal.display = False
        self._drawn: tuple[str, int] | None = None
        self.goal_for = ""  # the lesson whose goal is shown

    def compose(self) -> ComposeResult:
        yield self._goal
        yield self._body

    def show_goal(self, text: Text | None, lesson_id: str = "") -> None:
        """Show the goal of ``lesson_id`` above the map (``None`` hides it)."""
        self._goal.display = text is not None
        self.goal_for = lesson_id if text is not None else ""
        if text is not None:
            self._goal.update(text)

    def show(self, state: WorldState) -> None:
        self.state = state
        self._draw()

    def show_note(self, note: str) -> None:
        self.state = None
        self.note = note
        self._drawn = None  # the next map is drawn even when it is the one before the note
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        width = max(self.size.width - 1, 20)  # one column for the scrollbar
        if self.state is None or not self.state.namespaces:
            self._body.update(self.note)
            return
        lines = render_map(self.state, width)
        key = ("\n".join(lines), width)
        if key == self._drawn:
            return
        self._drawn = key
        self._body.update(colourise(lines))
