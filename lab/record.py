"""What the learner ran, where, and how it ended: the world's record of commands.

Seeing is half of every lesson: a namespace is understood when you have listed
its devices next to the host's, a route clash when your own ping got no answer.
Every interactive shell of a world (nested ones too) appends two kinds of line
to ``<world dir>/events`` (``lab/assets/ps0.sh`` before a command runs,
``prompt.sh`` when the prompt comes back)::

    1718000000.123456<TAB>host<TAB>cmd<TAB>sudo ip netns add netns0
    1718000000.234567<TAB>host<TAB>done<TAB>0

A new world starts a new file; a lesson that keeps the learner's network (the
TUI moving on from a finished lesson) appends a ``lesson`` line, and the record
starts over there: what was seen in the lesson before is not seen in this one.
This module turns that record into :class:`Ran` entries: each simple command
of a line (``a; b && c | d`` is four), the namespace its *network* was in, and
the exit status of the line. The namespace is the shell's, unless the command
itself changes it: ``ip netns exec NAME cmd``, ``ip -n NAME ...``,
``nsenter --net=/var/run/netns/NAME cmd``; ``sudo``, ``env``, ``bash -c '...'``
are looked through. The observation milestones (``looked``, ``pinged`` in
:mod:`checks.kinds`) and the slip helper (:mod:`lab.slips`) read it. Pure:
no kernel, no Textual.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

#: how a line of the events file ends a command: the status of the shell's last line
SEPARATORS = {";", "&&", "||", "|", "&", "|&", ";;", "(", ")", "\n"}
NETNS_PATH = re.compile(r"^(?:/var)?/run/netns/([^/\s]+)$")
#: programs that run the rest of their words as a command (their own options skipped)
WRAPPERS = {"sudo", "env", "exec", "time", "command", "nohup", "doas", "stdbuf"}


#: the kind of line that starts a lesson's record in a world kept from the lesson before
LESSON = "lesson"


def mark_lesson(path: Path, lesson_id: str) -> None:
    """Start a new lesson's record in the events file at ``path`` (best effort)."""
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"{time.time():.6f}\thost\t{LESSON}\t{lesson_id}\n")
    except OSError:
        pass


@dataclass(frozen=True)
class Ran:
    """One simple command the learner ran."""

    ns: str  # the namespace its network was in
    words: tuple[str, ...]  # the program and its arguments, wrappers removed
    status: int | None  # the exit status of the whole line; None: never came back
    line: str  # the line as typed
    at: float = 0.0  # when it was typed (seconds since the epoch)

    @property
    def program(self) -> str:
        return self.words[0].rsplit("/", 1)[-1] if self.words else ""

    def mentions(self, word: str) -> bool:
        """Does one of its arguments name ``word`` as a whole (``10.0.0.1`` in ``-W1 10.0.0.1``)?"""
        pattern = re.compile(rf"(?<![\w.]){re.escape(word)}(?![\w])")
        return any(pattern.search(w) for w in self.words[1:])


@dataclass(frozen=True)
class Line:
    """A line typed at a prompt: where the shell was and how it ended."""

    ns: str
    text: str
    status: int | None
    at: float


def parse_events(text: str) -> list[Line]:
    """The typed lines of an events file, each with the status its shell reported.

    A ``done`` belongs to the newest line still waiting *in the same namespace*:
    a nested shell's first prompt (``done`` in netns0 while the host's
    ``nsenter`` waits) then takes nothing, and the host's next ``done`` is the
    ``nsenter``'s own status.
    """
    lines: list[Line] = []
    waiting: list[int] = []  # indexes into lines, oldest first
    for raw in text.splitlines():
        parts = raw.split("\t", 3)
        if len(parts) == 4 and parts[2] == LESSON:
            lines, waiting = [], []
            continue
        if len(parts) != 4 or parts[2] not in ("cmd", "done"):
            continue
        try:
            at = float(parts[0])
        except ValueError:
            at = 0.0
        ns, kind, value = parts[1], parts[2], parts[3]
        if kind == "cmd":
            if value.strip():
                waiting.append(len(lines))
                lines.append(Line(ns, value, None, at))
            continue
        for pos in range(len(waiting) - 1, -1, -1):
            index = waiting[pos]
            if lines[index].ns == ns:
                status = int(value) if value.strip().lstrip("-").isdigit() else None
                lines[index] = Line(ns, lines[index].text, status, lines[index].at)
                del waiting[pos]
                break
    return lines


def _split_words(text: str) -> list[list[str]]:
    """The simple commands of a line, as words (quotes removed, operators split on)."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|()")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    commands: list[list[str]] = [[]]
    try:
        for token in lexer:
            if token in SEPARATORS or set(token) <= set(";&|()"):
                commands.append([])
            else:
                commands[-1].append(token)
    except ValueError:  # an unclosed quote: the words as typed
        commands = [text.split()]
    return [c for c in commands if c]


def _netns_of(value: str) -> str | None:
    match = NETNS_PATH.match(value)
    return match.group(1) if match else None


def _through_nsenter(words: list[str], ns: str) -> tuple[list[str], str]:
    """``nsenter [options] [program...]``: the program and the network it runs in."""
    i = 1
    while i < len(words) and words[i].startswith("-"):
        word = words[i]
        if word in ("--net", "-n") and i + 1 < len(words) and _netns_of(words[i + 1]):
            ns = _netns_of(words[i + 1]) or ns
            i += 2
            continue
        for prefix in ("--net=", "-n"):
            if word.startswith(prefix) and _netns_of(word[len(prefix) :]):
                ns = _netns_of(word[len(prefix) :]) or ns
        if word in ("-t", "--target", "-S", "-G", "--setuid", "--setgid", "-w", "-r"):
            i += 1
        elif word == "--":
            i += 1
            break
        i += 1
    return words[i:], ns


def _through_wrapper(words: list[str]) -> list[str]:
    """``sudo -E env A=1 cmd``, ``timeout 5 cmd``: the command they run."""
    if words[0].rsplit("/", 1)[-1] == "timeout":
        return [w for w in words[1:] if not w.startswith("-")][1:]
    words = words[1:]
    while words and (words[0].startswith("-") or "=" in words[0]):
        takes = words[0] in ("-u", "-g", "-p", "-C", "-h")
        words = words[2:] if takes else words[1:]
    return words


def _through_ip(words: list[str], ns: str) -> tuple[list[str], str, bool]:
    """``ip netns exec NAME cmd`` (True: look again at ``cmd``), ``ip -n NAME ...``."""
    rest = words[1:]
    if len(rest) >= 3 and rest[0] == "netns" and rest[1] == "exec":
        return rest[3:], rest[2], True
    for i, word in enumerate(rest[:-1]):
        if word in ("-n", "-netns", "--netns"):
            return ["ip", *rest[:i], *rest[i + 2 :]], rest[i + 1], False
    return words, ns, False


def _unwrap(words: list[str], ns: str) -> Iterator[tuple[list[str], str]]:
    """The commands ``words`` really runs (wrappers removed), each with its namespace."""
    for _ in range(16):  # wrappers around wrappers, never forever
        if not words:
            return
        program = words[0].rsplit("/", 1)[-1]
        if program in WRAPPERS or program == "timeout":
            words = _through_wrapper(words)
            continue
        if program == "nsenter":
            words, ns = _through_nsenter(words, ns)
            continue
        if program == "ip":
            words, ns, again = _through_ip(words, ns)
            if again:
                continue
        if program in ("bash", "sh", "dash") and "-c" in words[1:]:
            at = words.index("-c")
            if at + 1 < len(words):
                for inner in _split_words(words[at + 1]):
                    yield from _unwrap(inner, ns)
                return
        yield words, ns
        return


def commands_of(line: Line) -> list[Ran]:
    """The simple commands of one typed line."""
    out = []
    for words in _split_words(line.text):
        for inner, ns in _unwrap(words, line.ns):
            out.append(Ran(ns, tuple(inner), line.status, line.text, line.at))
    return out


def parse(text: str) -> list[Ran]:
    """Every simple command of an events file's text, in the order typed."""
    return [ran for line in parse_events(text) for ran in commands_of(line)]


def read(path: Path) -> list[Ran]:
    """Every simple command recorded in the events file at ``path`` (none if unreadable)."""
    try:
        return parse(path.read_text(errors="replace"))
    except OSError:
        return []


# --------------------------------------------------------------- what it shows

#: ip's objects, as ip itself matches them (any prefix: ``ip l``, ``ip a``, ``ip ro``)
IP_OBJECTS = {"devices": ("link", "address"), "routes": ("route",)}
#: an ip action that only shows (nothing after the object shows too)
IP_SHOWS = {"show", "list", "lst", "ls", "sh", "s", "l", "get", "dev"}
#: the article's script shows all three
INSPECT = "inspect-net-stack"


def _ip_object(words: tuple[str, ...]) -> tuple[str, str | None] | None:
    rest = [w for w in words[1:] if not w.startswith("-")]
    if not rest:
        return None
    obj, action = rest[0], (rest[1] if len(rest) > 1 else None)
    if action is not None and action not in IP_SHOWS and not re.match(r"^[\w.-]+$", action):
        return None
    shows_only = action is None or action in IP_SHOWS or not _changes(action)
    for what, objects in IP_OBJECTS.items():
        if shows_only and any(o.startswith(obj) for o in objects):
            return what, action
    return None


def _changes(action: str) -> bool:
    verbs = ("add", "set", "delete", "change", "replace", "flush", "append", "prepend")
    return any(verb.startswith(action) for verb in verbs)


def _iptables_lists(words: tuple[str, ...]) -> bool:
    for word in words[1:]:
        if word in ("--list", "--list-rules"):
            return True
        if re.match(r"^-[a-zA-Z]*[LS][a-zA-Z]*$", word) and not word.startswith("--"):
            return True
    return False


def shows(ran: Ran, what: str) -> bool:
    """Does ``ran`` show ``what`` (``devices``, ``routes`` or ``firewall``) of its namespace?"""
    program = ran.program
    if INSPECT in program:
        return True
    if program == "ip" and len(ran.words) > 1:
        found = _ip_object(ran.words)
        return found is not None and found[0] == what
    if what == "devices":
        return program == "ifconfig" or (
            program in ("ls", "cat") and any("/sys/class/net" in w for w in ran.words)
        )
    if what == "routes":
        return program == "route" or (program == "netstat" and any("r" in w for w in ran.words))
    if what == "firewall":
        if program.startswith("iptables-save") or program.startswith("iptables-legacy-save"):
            return True
        if program.startswith("iptables"):
            return _iptables_lists(ran.words)
        return program == "nft" and "list" in ran.words
    return False


def looked(record: Iterable[Ran], ns: str, what: str) -> Ran | None:
    """The first command (that did not fail) showing ``what`` in ``ns``."""
    for ran in record:
        if ran.ns == ns and ran.status in (0, None) and shows(ran, what):
            return ran
    return None


PING_PROGRAMS = ("ping", "ping4")


def wrote(ran: Ran, setting: str) -> bool:
    """Did ``ran`` (succeed and) write a setting whose name contains ``setting``?
    ``echo 1 > .../ip_forward``, ``sysctl -w net.ipv4.ip_forward=1``, ``tee .../ip_forward``."""
    if ran.status != 0 or not any(setting in w for w in ran.words):
        return False
    return (
        ran.program == "tee"
        or any(">" in w for w in ran.words)
        or any(setting in w and "=" in w for w in ran.words)
    )


def pinged(record: Iterable[Ran], ns: str, to: str, reply: bool, after: str = "") -> Ran | None:
    """The first ping from ``ns`` naming ``to`` that got replies (or, ``reply`` false, that
    was sent and got none: ping's exit status 1, or 2 for "Network is unreachable");
    with ``after``: only one typed after a command that wrote a setting named so."""
    armed = not after
    for ran in record:
        if not armed:
            armed = wrote(ran, after)
            continue
        if ran.ns != ns or ran.program not in PING_PROGRAMS or not ran.mentions(to):
            continue
        if (reply and ran.status == 0) or (not reply and ran.status in (1, 2)):
            return ran
    return None
