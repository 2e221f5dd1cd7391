"""The help screen (F1): every key and both ways to press it, how to reach each panel,
and a debug view of the lab's own timings (kept out of the learner's way).

It fills the screen at 80x24 and scrolls (↑ ↓ PgUp PgDn); Escape, q or F1 close it.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from lab.i18n import _
from lab.tui.keys import PANELS, PREFIX_LABEL, help_rows


def help_renderable(debug: str = "") -> Table:
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column(ratio=1, overflow="fold")  # Chinese has no spaces to wrap at
    table.add_row(Text(_("cnlab keys"), style="bold underline"), "", "")
    table.add_row(
        "",
        "",
        Text(
            _(
                "Everything else you type goes to the shell (Tab, Ctrl-C, Ctrl-R...). "
                "Where F-keys do not reach (a browser, a Mac without Fn), press {prefix} "
                "then the letter."
            ).format(prefix=PREFIX_LABEL),
            style="dim",
        ),
    )
    table.add_row(_("F-key"), _("or"), _("does"))
    for fkey, other, does in help_rows():
        table.add_row(fkey, other, does)
    table.add_row("", "", "")
    table.add_row(Text(_("Panels"), style="bold underline"), "", "")
    table.add_row(
        "",
        "",
        Text(_("Ctrl+O moves the keys to the next panel; the top bar names it."), style="dim"),
    )
    for name, keys in PANELS:
        table.add_row(_(name), "", _(keys))
    table.add_row("", "", "")
    table.add_row(
        "",
        "",
        Text(
            _(
                "Milestones re-check by themselves after every command you run, "
                "and the map follows the world as it changes."
            ),
            style="dim",
        ),
    )
    table.add_row(
        "",
        "",
        Text(_("F9 (Ctrl+] k) → Language: the lab in English or 简体中文."), style="dim"),
    )
    if debug:
        table.add_row(Text(_("Debug"), style="bold underline"), "", Text(debug, style="dim"))
    return table


class HelpScreen(ModalScreen[None]):
    """Every key, every panel, and the lab's timings; Escape closes it."""

    BINDINGS = [Binding("escape,q,f1", "close", "Close", show=False)]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; background: $background 60%; }
    HelpScreen > Vertical {
        width: 110; max-width: 100%; height: 46; max-height: 100%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    HelpScreen VerticalScroll { height: 1fr; }
    HelpScreen #help-close { height: 1; color: $text-muted; dock: bottom; }
    """

    def __init__(self, debug: str = "") -> None:
        super().__init__()
        self.debug = debug

    def compose(self) -> ComposeResult:
        with Vertical():
            with VerticalScroll(id="help-body"):
                yield Static(help_renderable(self.debug), id="help-text")
            yield Static(_("Esc, q or F1 closes · ↑ ↓ PgUp PgDn scroll"), id="help-close")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)
