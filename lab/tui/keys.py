"""The lab's keys, written once: the screen's bindings, the footer and the help read them.

Every action has an F-key (what a terminal sends without surprises). Browsers
take F5, F6, F10, F11 and F12, and Mac laptops need Fn for F-keys, so every
action also has a *browser-safe* second way (see :data:`PREFIX`), shown in the
footer and the help.

Panels are reached with Ctrl+O (next panel); what has the keys is always named
in the top bar. Ctrl+T opens another shell in a tab (the host or a namespace).
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.i18n import N_, _


@dataclass(frozen=True)
class Key:
    action: str  # a LabScreen action (``app.`` ones are the App's)
    fkey: str  # Textual key name of the F-key
    letter: str  # the key after the prefix
    label: str  # short, for the footer
    does: str  # for the help
    footer: bool = True  # the footer has room for 9 keys at 80 columns; all are in F1


KEYS: tuple[Key, ...] = (
    Key("help", "f1", "h", N_("Help"), N_("help: every key and panel (this screen)")),
    Key("hint", "f2", "i", N_("Hint"), N_("the next hint")),
    Key(
        "lesson(-1)",
        "f3",
        "p",
        N_("Prev"),
        N_("previous lesson (asks before replacing your network)"),
        False,
    ),
    Key(
        "lesson(1)",
        "f4",
        "n",
        N_("Next"),
        N_("next lesson (keeps your network when it already is the next start; else asks)"),
    ),
    Key("reset", "f5", "r", N_("Reset"), N_("reset this lesson (asks first)")),
    Key("solution", "f6", "s", N_("Solve"), N_("show the reference solution (asks first)")),
    Key(
        "demo",
        "f7",
        "d",
        N_("Demo"),
        N_("demo: reset, then type the solution step by step (counts as seeing it)"),
        False,
    ),
    Key("toggle_map", "f8", "m", N_("Map"), N_("show / hide the network map")),
    Key(
        "app.command_palette",
        "f9",
        "k",
        N_("Palette"),
        N_("command palette: every action by name"),
        False,
    ),
    Key("app.quit", "f10", "q", N_("Quit"), N_("quit (progress is saved all the time)")),
    Key(
        "goal",
        "f11",
        "g",
        N_("Goal"),
        N_(
            "the goal beside the network: what your network lacks, has wrong or extra,"
            " compared with this lesson's end"
        ),
        False,
    ),
    Key(
        "reading",
        "f12",
        "t",
        N_("Read"),
        N_("reading mode: the lesson text takes the whole screen"),
    ),
    Key(
        "path",
        "shift+f8",
        "w",
        N_("Path"),
        N_("the first failing milestone's packet on the map, hop by hop (where it dies: ✗)"),
        False,
    ),
)

FOCUS_KEY = "ctrl+o"
# A new shell in a tab (on the host or inside a namespace), as browsers and terminals
# open a tab; bash loses only transpose-chars. In a browser (which keeps Ctrl+T),
# Ctrl+] c does the same.
NEW_SHELL_KEY = "ctrl+t"
# The browser-safe way: Ctrl+] (bash binds it to a search nobody uses; browsers and
# macOS leave it alone), then a letter. Ctrl+] twice sends a real Ctrl+] to the shell.
PREFIX = "ctrl+right_square_bracket"
PREFIX_LABEL = "Ctrl+]"

PANELS = (
    (N_("shell"), N_("the shell: everything you type goes to bash")),
    (
        N_("shell tabs"),
        N_(
            "Ctrl+T opens one (host or a namespace); Ctrl+] Tab or a click moves between"
            " them; exit closes one"
        ),
    ),
    (N_("lesson list"), N_("↑ ↓ choose, Enter opens (asks before replacing your network)")),
    (
        N_("lesson text"),
        N_(
            "↑ ↓ PgUp PgDn Home End scroll; diagrams wider than the panel scroll"
            " sideways (Shift+wheel) and show a scrollbar"
        ),
    ),
    (N_("milestones"), N_("↑ ↓ PgUp PgDn scroll the status and the first failure's cause")),
    (N_("hints"), N_("↑ ↓ scroll the hints shown so far")),
    (N_("map"), N_("↑ ↓ PgUp PgDn scroll the namespaces")),
)


def key_label(key: str) -> str:
    """``shift+f8`` as people write it: ``Shift+F8``."""
    *mods, last = key.split("+")
    return "+".join([*(m.capitalize() for m in mods), last.upper()])


def help_rows() -> list[tuple[str, str, str]]:
    """(F-key, browser-safe key, what it does) for every action, then focus."""
    rows = [(key_label(k.fkey), f"{PREFIX_LABEL} {k.letter}", _(k.does)) for k in KEYS]
    rows.append(
        (
            "Ctrl+O",
            f"{PREFIX_LABEL} o",
            _("next panel: shell → lessons → text → milestones → hints → map"),
        )
    )
    rows.append(
        (
            "Ctrl+T",
            f"{PREFIX_LABEL} c",
            _("a new shell in a tab of its own: on the host or inside a namespace (netns0…)"),
        )
    )
    rows.append(("", f"{PREFIX_LABEL} Tab", _("the next shell tab (a click on a tab works too)")))
    rows.append(("Esc", "", _("back to the shell (from a panel or reading mode)")))
    rows.append(("Shift+PgUp", "", _("scroll the shell's history (Shift+PgDn, wheel)")))
    return rows
