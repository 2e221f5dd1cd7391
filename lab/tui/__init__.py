"""cnlab's terminal UI: one Textual screen with the lesson, a real shell and a live map.

Modules: :mod:`~lab.tui.app` (the App, thin), :mod:`~lab.tui.labscreen` (the
screen and its background work), :mod:`~lab.tui.terminal` (pty + pyte),
:mod:`~lab.tui.checker` (client of the check server), :mod:`~lab.tui.events`
(the world's events file), :mod:`~lab.tui.netmap` (the map, pure renderer +
widget), :mod:`~lab.tui.lessonlist`, :mod:`~lab.tui.lessontext`, :mod:`~lab.tui.milestones`,
:mod:`~lab.tui.session` (progress), :mod:`~lab.tui.demo`, :mod:`~lab.tui.dialogs`.

Textual is imported only in this package (an import-linter contract keeps the
engine and the checks free of it).
"""
