"""A picture of a world's network: ``cnlab map [--format text|mermaid|dot|svg]``.

Containers' networking is a graph: each network namespace is a separate network stack
(a box with its own links, addresses, routes and firewall), a veth pair is a cable
between two boxes, a bridge is a switch inside one box whose ports are links of that box,
and NAT rules rewrite addresses as packets cross the box. This module draws that graph
from the same snapshot the checks reason on (:class:`lab.state.WorldState`), the way
containerlab's ``graph`` draws a lab: as text, as Mermaid (GitHub renders it in
Markdown), as Graphviz ``dot``, and as SVG (Graphviz's ``dot -Tsvg``).

Everything but :func:`cmd_map` and :func:`to_svg` is pure: it reads a snapshot, so tests
can draw a recorded one.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
from dataclasses import dataclass, field

from lab.errors import LabError
from lab.rules import Rule
from lab.state import Link, Namespace, WorldState

FORMATS = ("text", "mermaid", "dot", "svg")
NAT_TARGETS = ("MASQUERADE", "SNAT", "DNAT", "REDIRECT")


@dataclass(frozen=True)
class Cable:
    """A veth pair: (namespace, link) at each end."""

    a: tuple[str, str]
    b: tuple[str, str]


@dataclass
class Topology:
    namespaces: dict[str, Namespace]
    cables: list[Cable] = field(default_factory=list)
    ports: list[tuple[str, str, str]] = field(default_factory=list)  # ns, bridge, port
    nat: dict[str, list[str]] = field(default_factory=dict)  # ns -> NAT rules, listed


def nat_rules(ns: Namespace) -> list[str]:
    return [_rule_text(r) for r in ns.firewall.rules if r.target in NAT_TARGETS]


def _rule_text(rule: Rule) -> str:
    return f"{rule.chain} {rule.text}".strip()


def topology(state: WorldState) -> Topology:
    """The graph of ``state``: each veth pair once, each bridge port, each NAT rule."""
    topo = Topology(namespaces=dict(state.namespaces))
    seen: set[tuple[str, str]] = set()
    for name, ns in state.namespaces.items():
        for link in ns.links:
            if link.master:
                topo.ports.append((name, link.master, link.name))
            if link.kind != "veth" or (name, link.name) in seen:
                continue
            peer = state.peer(name, link)
            if peer is None:
                continue
            seen.update({(name, link.name), (peer[0], peer[1].name)})
            topo.cables.append(Cable((name, link.name), (peer[0], peer[1].name)))
        rules = nat_rules(ns)
        if rules:
            topo.nat[name] = rules
    return topo


def _link_line(link: Link) -> str:
    state = "UP" if link.up else "DOWN"
    kind = f" {link.kind}" if link.kind else ""
    master = f" master {link.master}" if link.master else ""
    addrs = " " + " ".join(link.addresses) if link.addresses else ""
    return f"{link.name}{kind} {state}{master}{addrs}"


def _route_line(route: object) -> str:
    dst = getattr(route, "dst", "?")
    via = f" via {route.gateway}" if getattr(route, "gateway", None) else ""  # type: ignore[attr-defined]
    dev = f" dev {route.dev}" if getattr(route, "dev", None) else ""  # type: ignore[attr-defined]
    return f"{dst}{via}{dev}"


def to_text(topo: Topology) -> str:
    out: list[str] = []
    for name, ns in topo.namespaces.items():
        fwd = ", forwarding" if ns.ip_forward else ""
        out.append(f"[{name}]{fwd}")
        out += [f"  link  {_link_line(link)}" for link in ns.links if link.name != "lo"]
        out += [f"  route {_route_line(r)}" for r in (*ns.routes, *ns.special_routes)]
        out += [f"  nat   {rule}" for rule in topo.nat.get(name, [])]
    out.append("cables (veth pairs):")
    out += [f"  {a[0]}:{a[1]} <-> {b[0]}:{b[1]}" for a, b in ((c.a, c.b) for c in topo.cables)]
    if topo.ports:
        out.append("bridge ports:")
        out += [f"  {ns}:{bridge} <- {port}" for ns, bridge, port in topo.ports]
    return "\n".join(out) + "\n"


def _id(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9]", "_", p) for p in parts)


def _label(ns_name: str, ns: Namespace, nat: list[str]) -> list[str]:
    lines = [ns_name + (" (forwarding)" if ns.ip_forward else "")]
    lines += [f"route {_route_line(r)}" for r in ns.routes]
    lines += [f"nat {rule}" for rule in nat]
    return lines


def _node_links(ns: Namespace) -> list[Link]:
    return [link for link in ns.links if link.name != "lo"]


def to_mermaid(topo: Topology) -> str:
    out = ["flowchart LR"]
    for name, ns in topo.namespaces.items():
        out.append(
            f'  subgraph {_id(name)}["{_esc(" / ".join(_label(name, ns, topo.nat.get(name, []))))}"]'
        )
        for link in _node_links(ns):
            shape = ('{{"', '"}}') if link.kind == "bridge" else ('["', '"]')
            out.append(f"    {_id(name, link.name)}{shape[0]}{_esc(_link_line(link))}{shape[1]}")
        out.append("  end")
    for c in topo.cables:
        out.append(f"  {_id(*c.a)} <-->|veth| {_id(*c.b)}")
    for where, bridge, port in topo.ports:
        out.append(f"  {_id(where, port)} -.-|port| {_id(where, bridge)}")
    return "\n".join(out) + "\n"


def _esc(text: str) -> str:
    return text.replace('"', "#quot;")


def _dq(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(topo: Topology) -> str:
    out = ["graph cnlab {", "  rankdir=LR;", "  node [shape=box, fontname=monospace];"]
    for name, ns in topo.namespaces.items():
        out.append(f"  subgraph cluster_{_id(name)} {{")
        out.append(f"    label={_dq(chr(10).join(_label(name, ns, topo.nat.get(name, []))))};")
        for link in _node_links(ns):
            shape = "ellipse" if link.kind == "bridge" else "box"
            out.append(
                f"    {_id(name, link.name)} [label={_dq(_link_line(link))}, shape={shape}];"
            )
        out.append("  }")
    for c in topo.cables:
        out.append(f'  {_id(*c.a)} -- {_id(*c.b)} [label="veth", penwidth=2];')
    for where, bridge, port in topo.ports:
        out.append(f'  {_id(where, port)} -- {_id(where, bridge)} [style=dashed, label="port"];')
    out.append("}")
    return "\n".join(out) + "\n"


def to_svg(topo: Topology) -> str:
    dot = shutil.which("dot")
    if dot is None:
        raise LabError("`--format svg` needs Graphviz's dot (apt-get install graphviz)", status=2)
    done = subprocess.run(
        [dot, "-Tsvg"], input=to_dot(topo), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise LabError(f"dot failed: {done.stderr.strip()}", status=1)
    return done.stdout


def render(state: WorldState, fmt: str) -> str:
    topo = topology(state)
    renderers = {"text": to_text, "mermaid": to_mermaid, "dot": to_dot, "svg": to_svg}
    if fmt not in renderers:
        raise LabError(f"unknown --format {fmt!r} (use {', '.join(FORMATS)})", status=2)
    return renderers[fmt](topo)


def cmd_map(args: argparse.Namespace) -> int:
    from lab import preflight
    from lab.state import read_world
    from lab.world import World, locked, validate_name

    preflight.require_root()
    world = World(validate_name(args.world), keep_home=True)
    with locked(world.name, exclusive=False):
        world.require()
        state = read_world(world)
    print(render(state, args.format), end="")
    return 0
