"""The lesson text: the lesson's Markdown (rendered from ``text.md.j2``), scrollable."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Markdown


class LessonText(VerticalScroll):
    """The lesson's Markdown, scrollable."""

    def compose(self) -> ComposeResult:
        yield Markdown("", id="lesson-md")

    async def show(self, markdown: str) -> None:
        await self.query_one(Markdown).update(markdown)
        self.scroll_home(animate=False)
