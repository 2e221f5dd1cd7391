"""The path of a failing milestone's packet, drawn above the map, one hop at a time.

A *hop* is a namespace the packet is in, with the steps the kernel took there
(the data of ``cnlab trace --json``, see :mod:`checks.trace`): netns0 routes it
out of ceth0, the host takes it in on br0, forwards it, masquerades it, the
internet answers, and so on back. :func:`hops` groups the steps; :func:`path_text`
draws them with one hop highlighted and the hop where the packet died marked ✗.
:class:`PathView` walks the highlight along the path, hop after hop, so the
learner sees the packet travel, then stays on the last hop.

Pure except for the widget: tests feed :func:`path_text` a :class:`lab.model.Trace` by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.widgets import Static

from lab.i18n import N_, _
from lab.model import Step, Trace

NAMES = {"internet": N_("the internet")}
STEP_DELAY = 0.5  # seconds each hop stays highlighted while the path is walked


@dataclass(frozen=True)
class Hop:
    """One namespace on the path and what happened to the packet there."""

    ns: str
    reply: bool
    lines: tuple[str, ...]
    dies: bool  # the packet (or its reply) ends here


def _step_words(step: Step) -> str:
    kind = step.kind
    if kind == "route":
        return _("route via {step_out_if}").format(step_out_if=step.out_if)
    if kind == "neighbour":
        return f"ARP {step.decision} on {step.out_if}"
    if kind == "arrive":
        return _("in on {step_in_if}").format(step_in_if=step.in_if)
    if kind == "bridge":
        nf = " (br_netfilter)" if step.br_netfilter else ""
        return f"bridged {step.in_if} -> {step.out_if}{nf}"
    if kind == "hook":
        return f"{step.hook} {step.decision}"
    if kind == "nat":
        return f"{step.decision} {step.before} -> {step.after}"
    if kind == "deliver":
        return "delivered" if not step.reply else _("reply received")
    return f"DROP: {step.cause}"


def hops(trace: Trace) -> list[Hop]:
    """The steps grouped by consecutive namespace (and direction)."""
    found: list[Hop] = []
    for step in trace.steps:
        ns, reply = step.ns, step.reply
        dies = step.kind == "drop"
        words = _step_words(step)
        if found and found[-1].ns == ns and (found[-1].reply == reply or dies):
            last = found[-1]
            found[-1] = Hop(ns, last.reply, (*last.lines, words), last.dies or dies)
        else:
            found.append(Hop(ns, reply, (words,), dies))
    return found


def path_text(trace: Trace, current: int | None) -> Text:
    """The path with hop ``current`` highlighted (None: none), the dying hop marked ✗."""
    port = f":{trace.port}" if trace.port else ""
    text = Text()
    text.append(f"Path: {trace.src_ns} -> {trace.target}{port}", "bold")
    text.append(" (Shift+F8 hides)\n", "dim")
    for i, hop in enumerate(hops(trace)):
        mark = "✗" if hop.dies else ("↩" if hop.reply else "→")
        style = "bold red" if hop.dies else ""
        if i == current:
            style = "bold reverse red" if hop.dies else "bold reverse"
        text.append(f" {mark} {_(NAMES[hop.ns]) if hop.ns in NAMES else hop.ns}: ", style)
        text.append("; ".join(hop.lines) + "\n", style)
    if trace.reached:
        text.append(_("✔ reached, and the reply came back\n"), "bold green")
    else:
        text.append(f"✘ stopped: {trace.cause}\n", "bold red")
    return text


class PathView(Static):
    """The path of one trace; :meth:`walk` highlights each hop in turn."""

    DEFAULT_CSS = """
    PathView { width: 100%; height: auto; border-bottom: solid $accent; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.trace: Trace | None = None
        self.current: int | None = None
        self._timer: Any = None

    def show_trace(self, trace: Trace | None, note: str = "") -> None:
        """Show ``trace`` (None: only ``note``) and walk its hops from the first."""
        self.trace = trace
        self.current = 0 if trace else None
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if trace is None:
            self.update(Text(note or _("no path to show"), "dim"))
            return
        self._draw()
        if len(hops(trace)) > 1:
            self._timer = self.set_interval(STEP_DELAY, self._advance)

    def _advance(self) -> None:
        if self.trace is None or self.current is None:
            return
        last = len(hops(self.trace)) - 1
        if self.current >= last:
            if self._timer is not None:
                self._timer.stop()
                self._timer = None
            return
        self.current += 1
        self._draw()

    def _draw(self) -> None:
        if self.trace is not None:
            self.update(path_text(self.trace, self.current))
