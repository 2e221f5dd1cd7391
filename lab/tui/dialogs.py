"""Modal screens: confirm, a page of text (solution, summary), where a new shell starts.

Each is dismissed with Escape (or its buttons) and hands back focus to the
shell. Confirmations answer ``True``/``False`` through ``dismiss``.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Markdown, OptionList, Static

from lab.i18n import _


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
            yield Button("Close (Esc)", id="close", compact=True)

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


class PlaceScreen(ModalScreen[str | None]):
    """Where a new shell starts: on the host or inside one of the world's namespaces.

    A shell *inside* netns0 is what ``sudo nsenter --net=/var/run/netns/netns0``
    gives: every command in it sees netns0's interfaces, routes and firewall.
    A digit picks a place at once; ↑ ↓ and Enter work too (Enter alone: the
    host); Escape cancels.
    """

    BINDINGS = [Binding("escape", "pick(-1)", "Cancel", show=False)]

    def __init__(self, places: list[str]) -> None:
        super().__init__(classes="dialog")
        self.places = places

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog-box place-box"):
            yield Static(
                _("A new shell, in a tab of its own. Where? (a number, or ↑ ↓ Enter; Esc cancels)"),
                classes="dialog-question",
            )
            yield OptionList(
                *(
                    f"{n}  {place}"
                    + (
                        _("  (the VM's own network)")
                        if n == 1
                        else _("  (inside it, as after nsenter)")
                    )
                    for n, place in enumerate(self.places, 1)
                ),
                id="places",
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()

    def on_key(self, event: events.Key) -> None:
        if event.character and event.character.isdigit():
            event.stop()
            index = int(event.character) - 1
            if 0 <= index < len(self.places):
                self.dismiss(self.places[index])

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.action_pick(event.option_index)

    def action_pick(self, index: int) -> None:
        self.dismiss(self.places[index] if index >= 0 else None)
