"""The results that cross every boundary: one typed model, JSON in and out.

A check is judged in one process and read in another (the TUI asks a check server,
a grader forks a child per submission, ``cnlab check --json`` prints for a script),
so what a check found is plain data with one JSON shape::

    Diagnosis        why a packet does not get through (the tracer's answer)
        │ Outcome.from_diagnosis
    Outcome          what one check kind found: passed, cause, explanation, evidence
        │ MilestoneResult.from_outcome
    MilestoneResult  an Outcome with the milestone's id and title (+ its Trace, asked for)
        │                          │
    LessonReport     every         MilestoneGrade   a result with points
    milestone of a lesson              │
                                   SubmissionGrade  one submission: status, score, output

    Trace, Step      one probe's journey, decision by decision (``cnlab trace``)

    WorldState       a snapshot of every namespace of a world (read by lab.state)
      Namespace      its links, routes, neighbours, switches and firewall
        Link, Route, Neighbour

Every type has ``to_json`` (what is printed and sent; its shape is documented in
docs/grading.md and kept byte for byte) and ``from_json`` (what a reader gets back:
``X.from_json(json.loads(json.dumps(x.to_json()))) == x``). This module imports no
netlink, no Textual and no check code: anything may read a result.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from checks.causes import Cause
from lab.i18n import _
from lab.rules import Chain, Firewall, Match, Rule
from lab.world.paths import HOST_NS, INTERNET_NS


def _strings(value: Any) -> list[str]:
    return [str(item) for item in value or ()]


def _cause(value: Any) -> str | None:
    """A cause code read back: the :class:`Cause` it names (a ``str``), or the code as is."""
    if value is None:
        return None
    try:
        return Cause(str(value))
    except ValueError:  # a code published later than this reader
        return str(value)


@dataclass(frozen=True)
class Diagnosis:
    """Why a packet does not get through: one cause, a sentence, the facts behind it."""

    cause: Cause
    explanation: str
    evidence: Sequence[str] = ()  # kept as a tuple
    #: commands that show more (always given for an unexplained failure)
    look_further: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "cause", Cause(self.cause))
        object.__setattr__(self, "evidence", tuple(self.evidence))
        object.__setattr__(self, "look_further", tuple(self.look_further))

    def to_json(self) -> dict[str, Any]:
        return {
            "cause": str(self.cause),
            "explanation": self.explanation,
            "evidence": list(self.evidence),
            "look_further": list(self.look_further),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Diagnosis:
        return cls(
            Cause(data["cause"]),
            str(data.get("explanation", "")),
            tuple(_strings(data.get("evidence"))),
            tuple(_strings(data.get("look_further"))),
        )


@dataclass
class Outcome:
    """What one check kind found. A failure names a cause (a :class:`Cause` code)."""

    passed: bool
    cause: str | None = None
    explanation: str = ""
    evidence: list[str] = field(default_factory=list)

    @classmethod
    def ok(cls, *evidence: str) -> Outcome:
        return cls(True, evidence=list(evidence))

    @classmethod
    def fail(cls, cause: str | None, explanation: str, *evidence: str) -> Outcome:
        return cls(False, cause, explanation, list(evidence))

    @classmethod
    def from_diagnosis(cls, diag: Diagnosis | None, *evidence: str) -> Outcome:
        """A failure as the tracer explained it (``None``: it could not)."""
        if diag is None:
            return cls(
                False,
                Cause.UNEXPLAINED,
                _(
                    "The packet was lost, but the lab's model of the network sees no reason; look "
                    "at `ip route`, `ip link` and `iptables -S` along the path."
                ),
                list(evidence),
            )
        further = [
            _("look further: {command}").format(command=command) for command in diag.look_further
        ]
        return cls(False, diag.cause, diag.explanation, [*evidence, *diag.evidence, *further])


@dataclass(frozen=True)
class Step:
    """One decision the kernel took for the packet (or its reply).

    ``kind`` is one of route, neighbour, arrive, bridge, hook, nat, deliver,
    drop. ``decision`` is the verdict in one word or two (``accept``, ``drop``,
    ``MASQUERADE``, ``conntrack``, ``forward``...), ``rule`` the route or rule
    that made it, with its ``backend`` for a firewall rule. ``seen``: the probe's
    packet was observed there by the kernel (None: not observable at this step).
    ``counted``: rules whose counters moved at this hook while the probe passed.
    """

    ns: str
    kind: str
    decision: str
    rule: str = ""
    backend: str | None = None
    in_if: str | None = None
    out_if: str | None = None
    hook: str | None = None
    reply: bool = False
    before: str | None = None  # NAT: the address (and port) before the rewrite
    after: str | None = None
    beat: tuple[str, ...] = ()  # routes this one won over (a route clash)
    br_netfilter: bool = False  # a bridged frame sent through the iptables hooks
    seen: bool | None = None
    counted: tuple[str, ...] = ()
    reason: str | None = None  # drop: the kernel's reason (what the probe saw)
    cause: str | None = None  # drop: the lab's cause code

    def to_json(self) -> dict[str, Any]:
        """Only what is set: a step prints as the few facts that matter."""
        return {k: v for k, v in asdict(self).items() if v not in (None, (), "", False)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Step:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for name in ("beat", "counted"):
            known[name] = tuple(_strings(known.get(name)))
        return cls(**known)


@dataclass(frozen=True)
class Trace:
    """The whole journey of one probe: its steps, and whether it got there and back."""

    src_ns: str
    dst: str
    proto: str
    port: int | None
    target: str  # what the learner asked for (an address or a namespace's name)
    reached: bool  # the kernel's verdict: the probe's answer came back
    steps: tuple[Step, ...]
    cause: str | None = None
    explanation: str | None = None
    kernel: str = ""  # the probe's own answer, in words
    model_agrees: bool = True  # the model's path ends where the kernel's did
    sightings: tuple[str, ...] = field(default=())

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["steps"] = [s.to_json() for s in self.steps]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Trace:
        port = data.get("port")
        return cls(
            src_ns=str(data["src_ns"]),
            dst=str(data["dst"]),
            proto=str(data["proto"]),
            port=int(port) if port is not None else None,
            target=str(data.get("target", data["dst"])),
            reached=bool(data["reached"]),
            steps=tuple(Step.from_json(s) for s in data.get("steps", [])),
            cause=data.get("cause"),
            explanation=data.get("explanation"),
            kernel=str(data.get("kernel", "")),
            model_agrees=bool(data.get("model_agrees", True)),
            sightings=tuple(_strings(data.get("sightings"))),
        )


@dataclass
class MilestoneResult:
    """One milestone judged: an :class:`Outcome` with the milestone's id and title."""

    id: str
    title: str
    passed: bool
    cause: str | None = None  # a code from checks.causes when failed
    explanation: str = ""
    evidence: list[str] = field(default_factory=list)
    duration_ms: int = 0
    #: the failing milestone's packet followed hop by hop (``cnlab check --trace``)
    trace: Trace | None = None
    #: passed because its failure was seen earlier (the TUI keeps what was earned)
    kept: bool = False

    @classmethod
    def from_outcome(
        cls, id: str, title: str, outcome: Outcome, duration_ms: int = 0
    ) -> MilestoneResult:
        """A passed milestone names no cause; it keeps an explanation only when it
        reached a failure on purpose (the lesson's point)."""
        return cls(
            id=id,
            title=title,
            passed=outcome.passed,
            cause=None if outcome.passed else outcome.cause,
            explanation=outcome.explanation,
            evidence=outcome.evidence,
            duration_ms=duration_ms,
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "passed": self.passed,
            "cause": self.cause,
            "explanation": self.explanation,
            "evidence": list(self.evidence),
        }
        if self.trace is not None:
            data["trace"] = self.trace.to_json()
        if self.kept:
            data["kept"] = True
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MilestoneResult:
        trace = data.get("trace")
        return cls(
            id=str(data["id"]),
            title=str(data.get("title", data["id"])),
            passed=bool(data["passed"]),
            cause=_cause(data.get("cause")),
            explanation=str(data.get("explanation") or ""),
            evidence=_strings(data.get("evidence")),
            trace=Trace.from_json(trace) if isinstance(trace, dict) else None,
            kept=bool(data.get("kept", False)),
        )


@dataclass
class LessonReport:
    """Every milestone of one lesson, judged in one world (``cnlab check --json``)."""

    lesson: str
    world: str
    milestones: list[MilestoneResult]
    duration_ms: int = 0

    @property
    def passed(self) -> bool:
        return all(m.passed for m in self.milestones)

    @property
    def first_failure(self) -> MilestoneResult | None:
        return next((m for m in self.milestones if not m.passed), None)

    def result(self, milestone_id: str) -> MilestoneResult | None:
        """The result of the milestone with this id, if the report has one."""
        return next((m for m in self.milestones if m.id == milestone_id), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "lesson": self.lesson,
            "world": self.world,
            "passed": self.passed,
            "duration_ms": self.duration_ms,
            "milestones": [m.to_json() for m in self.milestones],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LessonReport:
        return cls(
            lesson=str(data["lesson"]),
            world=str(data.get("world", "")),
            duration_ms=int(data.get("duration_ms", 0)),
            milestones=[MilestoneResult.from_json(m) for m in data.get("milestones", [])],
        )


@dataclass
class MilestoneGrade(MilestoneResult):
    """A milestone result with the points it earned (``cnlab grade``)."""

    points: float = 0.0
    max_points: float = 1.0

    @classmethod
    def of(cls, result: MilestoneResult, max_points: float = 1.0) -> MilestoneGrade:
        """All the points for a passed milestone, none for a failed one."""
        return cls(
            id=result.id,
            title=result.title,
            passed=result.passed,
            cause=result.cause,
            explanation=result.explanation,
            evidence=list(result.evidence),
            points=max_points if result.passed else 0.0,
            max_points=max_points,
        )

    @classmethod
    def not_checked(cls, id: str, title: str, why: str) -> MilestoneGrade:
        return cls(id=id, title=title, passed=False, explanation=why)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "passed": self.passed,
            "points": self.points,
            "max_points": self.max_points,
            "cause": self.cause,
            "explanation": self.explanation,
            "evidence": list(self.evidence),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MilestoneGrade:
        result = MilestoneResult.from_json(data)
        grade = cls.of(result, float(data.get("max_points", 1.0)))
        grade.points = float(data.get("points", grade.points))
        return grade


@dataclass
class SubmissionGrade:
    """The grade of one submission, in the shape docs/grading.md documents."""

    submission: str
    name: str
    world: str
    status: str
    reason: str | None
    passed: bool
    score: float
    max_score: float
    milestones: list[MilestoneGrade]
    exit_code: int | None = None
    output: str = ""
    output_bytes: int = 0
    output_truncated: bool = False
    timing_ms: dict[str, int] = field(default_factory=dict)
    enforced: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    replay: str = "script"
    transcript_tail: str = ""  # the last lines on screen, for a submission that did not pass

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["milestones"] = [m.to_json() for m in self.milestones]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SubmissionGrade:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["milestones"] = [MilestoneGrade.from_json(m) for m in data.get("milestones", [])]
        return cls(**known)


# ------------------------------------------------------------ the world's state


@dataclass(frozen=True)
class Link:
    index: int
    name: str
    kind: str | None  # "veth", "bridge", None for lo and plain devices
    up: bool  # administratively up (ip link set X up)
    carrier: bool  # the other end is up too (LOWER_UP)
    mac: str
    master: str | None = None  # the bridge this link is a port of
    peer_index: int | None = None  # veth: ifindex of the other end
    peer_elsewhere: bool = False  # veth: the other end is in another namespace
    addresses: tuple[str, ...] = ()  # IPv4, CIDR form
    #: net.ipv4.conf.<link>.forwarding: may packets arriving here be routed on?
    forwarding: bool | None = None
    #: net.ipv4.conf.<link>.rp_filter (0 off, 1 strict, 2 loose)
    rp_filter: int | None = None


@dataclass(frozen=True)
class Route:
    dst: str  # "default" or a CIDR such as "172.18.0.0/16"
    dev: str | None
    gateway: str | None = None
    proto: str = "boot"
    scope: str = "universe"
    prefsrc: str | None = None
    linkdown: bool = False
    kind: str = "unicast"  # or blackhole, unreachable, prohibit (Namespace.special_routes)

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network("0.0.0.0/0" if self.dst == "default" else self.dst)

    def text(self, full: bool = True) -> str:
        """As ``ip route`` prints it; ``full=False``: without proto, scope and src (the map)."""
        parts = [self.dst] if self.kind == "unicast" else [self.kind, self.dst]
        if self.gateway:
            parts += ["via", self.gateway]
        if self.dev:
            parts += ["dev", self.dev]
        if not full:
            return " ".join([*parts, "linkdown"] if self.linkdown else parts)
        if self.proto != "boot":
            parts += ["proto", self.proto]
        if self.scope != "universe":
            parts += ["scope", self.scope]
        if self.prefsrc:
            parts += ["src", self.prefsrc]
        if self.linkdown:
            parts.append("linkdown")
        return " ".join(parts)


@dataclass(frozen=True)
class Neighbour:
    """One entry of the ARP table (``ip neigh``)."""

    ip: str
    dev: str
    mac: str | None
    state: str  # REACHABLE STALE PERMANENT FAILED INCOMPLETE ...


@dataclass(frozen=True)
class Namespace:
    name: str
    links: tuple[Link, ...]
    routes: tuple[Route, ...]
    ip_forward: int
    firewall: Firewall
    listening: tuple[tuple[str, int], ...] = ()  # TCP (address, port)
    bridge_nf_call_iptables: int | None = None
    rp_filter_all: int = 0  # net.ipv4.conf.all.rp_filter (the stricter of it and a link's wins)
    neighbours: tuple[Neighbour, ...] = ()
    #: routes that drop instead of deliver (``ip route add blackhole|unreachable|prohibit``)
    special_routes: tuple[Route, ...] = ()

    def forwards_from(self, link: Link) -> bool:
        """Would a packet arriving on ``link`` be routed on?

        The kernel asks the arriving interface's own switch
        (``net.ipv4.conf.<link>.forwarding``); writing ``ip_forward`` sets every
        interface's at once. A hand-made snapshot without the switch falls back
        to ``ip_forward``.
        """
        if link.forwarding is None:
            return bool(self.ip_forward)
        return link.forwarding

    def rp_filter(self, link: Link) -> int:
        return max(self.rp_filter_all, link.rp_filter or 0)

    def link(self, name: str) -> Link | None:
        return next((link for link in self.links if link.name == name), None)

    def link_by_index(self, index: int) -> Link | None:
        return next((link for link in self.links if link.index == index), None)

    def addresses(self) -> list[tuple[str, Link]]:
        return [(addr, link) for link in self.links for addr in link.addresses]

    def owns(self, ip: str) -> Link | None:
        """The link carrying address ``ip`` here, if any."""
        for link in self.links:
            for cidr in link.addresses:
                if cidr.split("/")[0] == ip:
                    return link
        return None


@dataclass(frozen=True)
class WorldState:
    world: str
    namespaces: dict[str, Namespace]
    taken_at: float = 0.0

    def ns(self, name: str) -> Namespace | None:
        return self.namespaces.get(name)

    def learner_namespaces(self) -> list[str]:
        return [n for n in self.namespaces if n not in (HOST_NS, INTERNET_NS)]

    def peer(self, ns: str, link: Link) -> tuple[str, Link] | None:
        """The other end of veth ``link`` in namespace ``ns``, wherever it is."""
        if link.kind != "veth" or link.peer_index is None:
            return None
        if not link.peer_elsewhere:
            here = self.namespaces[ns].link_by_index(link.peer_index)
            return (ns, here) if here else None
        for other_name, other in self.namespaces.items():
            if other_name == ns:
                continue
            cand = other.link_by_index(link.peer_index)
            if (
                cand
                and cand.kind == "veth"
                and cand.peer_index == link.index
                and cand.peer_elsewhere
            ):
                return other_name, cand
        return None

    def find_link(self, name: str) -> list[tuple[str, Link]]:
        """Every namespace that has a link called ``name``."""
        return [(n, s.link(name)) for n, s in self.namespaces.items() if s.link(name)]  # type: ignore[misc]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data; :meth:`from_json` gives the same snapshot back."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorldState:
        return cls(
            world=str(data.get("world", "")),
            namespaces={n: _namespace(v) for n, v in data.get("namespaces", {}).items()},
            taken_at=float(data.get("taken_at", 0.0)),
        )


def _build(kind: type[Any], data: dict[str, Any], **nested: Any) -> Any:
    """A frozen dataclass from asdict() data: lists back to tuples, nested parts given."""
    known = {f.name for f in fields(kind)}
    values = {}
    for key, value in data.items():
        if key not in known:
            continue
        if key in nested:
            values[key] = nested[key]
        elif isinstance(value, list):
            values[key] = tuple(tuple(v) if isinstance(v, list) else v for v in value)
        else:
            values[key] = value
    return kind(**values)


def _firewall(data: dict[str, Any]) -> Firewall:
    return Firewall(
        policies={t: dict(c) for t, c in data.get("policies", {}).items()},
        chains={t: tuple(c) for t, c in data.get("chains", {}).items()},
        rules=tuple(
            _build(
                Rule,
                r,
                matches=tuple(_build(Match, m) for m in r.get("matches", [])),
            )
            for r in data.get("rules", [])
        ),
        all_chains=tuple(_build(Chain, c) for c in data.get("all_chains", [])),
    )


def _namespace(data: dict[str, Any]) -> Namespace:
    namespace: Namespace = _build(
        Namespace,
        data,
        links=tuple(_build(Link, link) for link in data.get("links", [])),
        routes=tuple(_build(Route, r) for r in data.get("routes", [])),
        special_routes=tuple(_build(Route, r) for r in data.get("special_routes", [])),
        firewall=_firewall(data.get("firewall", {})),
        neighbours=tuple(_build(Neighbour, n) for n in data.get("neighbours", [])),
        listening=tuple((a, int(p)) for a, p in data.get("listening", [])),
    )
    return namespace
