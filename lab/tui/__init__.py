"""cnlab's terminal UI: one Textual screen with the lesson, a real shell and a live map.

Modules: :mod:`~lab.tui.app` (the App, thin), :mod:`~lab.tui.labscreen` (the
screen and its background work), :mod:`~lab.tui.terminal` (pty + pyte),
:mod:`~lab.tui.checker` (client of the check server), :mod:`~lab.tui.events`
(the world's events file), :mod:`~lab.tui.netmap` (the map, pure renderer +
widget), :mod:`~lab.tui.lessonlist`, :mod:`~lab.tui.lessontext`, :mod:`~lab.tui.milestones`,
:mod:`~lab.tui.session` (progress), :mod:`~lab.tui.demo`, :mod:`~lab.tui.dialogs`,
:mod:`~lab.tui.keys` (every key, written once), :mod:`~lab.tui.help`,
:mod:`~lab.tui.prefix` (Ctrl+] then a letter), :mod:`~lab.tui.messages` (what
workers post), :mod:`~lab.tui.scheduler` (when to check; pure),
:mod:`~lab.tui.statediff` (what differs between two networks; pure) and
:mod:`~lab.tui.attempts` (has the learner tried a milestone; pure).

Textual is imported only in this package (an import-linter contract keeps the
engine and the checks free of it).
"""
