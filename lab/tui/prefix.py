"""The browser-safe keys: Ctrl+] then a letter does what an F-key does.

Browsers keep F5 (reload), F6, F10, F11, F12 for themselves and Mac laptops
need Fn for F-keys. Ctrl+] reaches a terminal everywhere and bash binds it only
to a character search hardly anyone uses; pressed twice it still reaches the
shell. After Ctrl+] this small screen lists the letters in the footer; a letter
runs its action, anything else (Escape) cancels.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Key
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from lab.tui.keys import KEYS, PREFIX, PREFIX_LABEL

SEND_PREFIX = "send-prefix"  # the answer when Ctrl+] is pressed twice


class PrefixScreen(ModalScreen[str | None]):
    """Waits for the letter after Ctrl+]; answers the action to run (or None)."""

    BINDINGS = [
        *(Binding(k.letter, f"pick('{k.action}')", k.label) for k in KEYS),
        Binding("o", "pick('switch_focus')", "Focus"),
        Binding("c", "pick('new_terminal')", "Shell"),
        Binding("tab", "pick('next_terminal')", "Next shell"),
        Binding(PREFIX, f"pick('{SEND_PREFIX}')", "Ctrl+] to bash", show=False),
        Binding("escape", "pick('')", "Cancel"),
    ]
    DEFAULT_CSS = """
    PrefixScreen { align: center bottom; background: $background 0%; }
    PrefixScreen > #prefix-note {
        dock: bottom; height: 1; margin-bottom: 1; width: 100%;
        background: $warning-darken-2; color: $text; padding: 0 1;
    }
    """

    def compose(self) -> ComposeResult:
        yield Static(f"{PREFIX_LABEL} pressed: now a letter (Esc cancels)", id="prefix-note")
        yield Footer(show_command_palette=False, compact=True)

    def action_pick(self, action: str) -> None:
        self.dismiss(action or None)

    def on_key(self, event: Key) -> None:
        # a key that is not one of the letters cancels (and is not typed anywhere)
        if event.key not in {k.letter for k in KEYS} | {"o", "c", "tab", PREFIX, "escape"}:
            event.stop()
            self.dismiss(None)
