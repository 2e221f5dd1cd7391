"""Modal screens: confirm, help, solution, summary, "build the world?".

Each is dismissed with Escape (or its buttons) and hands back focus to the
shell. Confirmations answer ``True``/``False`` through ``dismiss``.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Markdown, Static

KEYS = [
    ("F1", "help (this screen)"),
    ("F2", "next hint"),
    ("F3 / F4", "previous / next lesson (builds its start state)"),
    ("F5", "reset this lesson (asks first)"),
    ("F6", "show the reference solution (asks first)"),
    ("F7", "demo: reset, then type the solution step by step (F7 again stops it)"),
    ("F8", "show / hide the network map"),
    ("F9", "command palette (every action by name)"),
    ("F10", "quit (progress is saved all the time)"),
    ("Shift+PgUp / PgDn, wheel", "scroll the shell's history"),
    ("Ctrl+O", "move focus between the shell and the lesson list"),
]


def help_markdown() -> str:
    rows = "\n".join(f"| {key} | {what} |" for key, what in KEYS)
    return (
        "# cnlab keys\n\n"
        "Everything else you type goes to the shell (Tab completion, Ctrl-C, Ctrl-R...).\n\n"
        f"| key | does |\n| --- | --- |\n{rows}\n\n"
        "Milestones re-check by themselves after every command you run, "
        "and the map follows the world as it changes.\n"
    )


class ConfirmScreen(ModalScreen[bool]):
    """Yes/no question: Enter presses the focused button (yes), Escape says no.

    No letter answers it: keys typed for the shell while the dialog is up (the
    ``n`` of ``netns``, the ``y`` of ``yes``) must not answer it by accident.
    """

    BINDINGS = [Binding("escape", "answer(False)", "No", show=False)]

    def __init__(self, question: str, yes: str = "Yes", no: str = "Cancel") -> None:
        super().__init__(classes="dialog")
        self.question = question
        self.yes, self.no = yes, no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box"):
            yield Static(self.question, classes="dialog-question")
            with Horizontal(classes="dialog-buttons"):
                yield Button(f"{self.yes} (Enter)", variant="primary", id="yes")
                yield Button(f"{self.no} (Esc)", id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)


class TextScreen(ModalScreen[None]):
    """A page of Markdown (help, solution, summary); Escape closes it."""

    BINDINGS = [Binding("escape,q,f1", "close", "Close", show=False)]

    def __init__(self, markdown: str) -> None:
        super().__init__(classes="dialog")
        self.markdown = markdown

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box text-box"):
            with VerticalScroll():
                yield Markdown(self.markdown)
            yield Button("Close (Esc)", id="close")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
