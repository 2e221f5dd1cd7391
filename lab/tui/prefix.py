"""The browser-safe keys: Ctrl+] then a letter does what an F-key does.

Browsers keep F5 (reload), F6, F10, F11, F12 for themselves and Mac laptops
need Fn for F-keys. Ctrl+] reaches a terminal everywhere and bash binds it only
to a character search hardly anyone uses; pressed twice it still reaches the
shell. After Ctrl+] a band at the bottom lists every letter (wrapped, so all of
them show at 80 columns); a letter runs its action, anything else (Escape) cancels.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Key
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.widget import Widget

from lab.i18n import N_, _
from lab.tui.keys import KEYS, PREFIX, PREFIX_LABEL

SEND_PREFIX = "send-prefix"  # the answer when Ctrl+] is pressed twice


EXTRA = (
    ("o", N_("Focus")),
    ("c", N_("Shell")),
    ("Tab", N_("Next shell")),
    (PREFIX_LABEL, N_("to bash")),
)


def band_lines(head: str, width: int) -> list[Text]:
    """``head``, then every letter and what it does, in lines of at most ``width``
    cells, never breaking a letter from its word (a footer would cut them at 80)."""
    pairs = [(k.letter, _(k.label)) for k in KEYS]
    pairs += [(letter, _(label)) for letter, label in EXTRA] + [("Esc", _("cancel"))]
    lines = [Text(head, "bold")]
    for letter, label in pairs:
        piece = Text.assemble((f" {letter} ", "bold reverse"), f" {label}")
        current = lines[-1]
        if current.cell_len and current.cell_len + 2 + piece.cell_len > width:
            lines.append(piece)
        else:
            if current.cell_len:
                current.append("  ")
            current.append_text(piece)
    return lines


class LetterBand(Widget):
    """The band of letters, as tall as its width needs."""

    DEFAULT_CSS = "LetterBand { height: auto; }"

    def __init__(self, head: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.head = head

    def render(self) -> Text:
        return Text("\n").join(band_lines(self.head, max(self.size.width, 20)))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(band_lines(self.head, max(width, 20)))


class PrefixScreen(ModalScreen[str | None]):
    """Waits for the letter after Ctrl+]; answers the action to run (or None)."""

    BINDINGS = [
        *(Binding(k.letter, f"pick('{k.action}')", k.label, show=False) for k in KEYS),
        Binding("o", "pick('switch_focus')", "Focus", show=False),
        Binding("c", "pick('new_terminal')", "Shell", show=False),
        Binding("tab", "pick('next_terminal')", "Next shell", show=False),
        Binding(PREFIX, f"pick('{SEND_PREFIX}')", "Ctrl+] to bash", show=False),
        Binding("escape", "pick('')", "Cancel", show=False),
    ]
    DEFAULT_CSS = """
    PrefixScreen { align: center bottom; background: $background 0%; }
    PrefixScreen > #prefix-note {
        dock: bottom; height: auto; width: 100%;
        background: $primary-darken-2; color: $text; padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        yield LetterBand(
            _("{prefix} pressed, now a letter:").format(prefix=PREFIX_LABEL), id="prefix-note"
        )

    def action_pick(self, action: str) -> None:
        self.dismiss(action or None)

    def on_key(self, event: Key) -> None:
        # a key that is not one of the letters cancels (and is not typed anywhere)
        if event.key not in {k.letter for k in KEYS} | {"o", "c", "tab", PREFIX, "escape"}:
            event.stop()
            self.dismiss(None)
