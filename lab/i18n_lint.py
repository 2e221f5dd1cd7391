"""Is every word a learner reads there in every language, with its facts intact?

Two kinds of translation are checked (see ``docs/i18n.md``):

* a lesson's Chinese files (``lesson.zh.toml``, ``text.zh.md.j2``, ``solution.zh.sh``):
  every field translated, the same ``{{ variables }}`` and inline code spans as the
  English, the same commands in code blocks and in the solution, diagrams that keep
  their width in terminal cells;
* the code's gettext catalog (``lab/locale/zh/LC_MESSAGES/cnlab.po``): every string the
  code marks has a translation, and no ``{placeholder}``, ``%s`` or Rich markup was lost
  or invented on the way; the catalog is current with the code.

A lesson that has none of its Chinese files yet is only listed as untranslated, until the
switch :data:`STRICT_LESSONS` is turned (or ``CNLAB_I18N_STRICT=1`` for one run): then
every lesson must be translated. ``tests/test_i18n_lint.py`` runs all of it, and
``cnlab dev check --lang zh`` adds the lesson checks to each lesson's proof.
"""

from __future__ import annotations

import os
import re
import string
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta

from lab import i18n
from lab.compat import tomllib
from lab.errors import LabError
from lab.lessons import Lesson, load_lesson, parse_steps

#: Every lesson has its Chinese files, so a lesson without them fails the lint (set it
#: back to False only to land an English-only lesson first: it is then listed instead).
STRICT_LESSONS = True
#: The translated lesson files, by what they hold.
FILES = ("lesson.{lang}.toml", "text.{lang}.md.j2", "solution.{lang}.sh")
ROOT = Path(__file__).resolve().parent.parent

_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```", re.M | re.S)
_PERCENT = re.compile(r"%(?:\([a-z_]+\))?[-#0 +]*\d*(?:\.\d+)?[sdrfxi%]")
_MARKUP = re.compile(r"\[/?[a-z@#][^\]\[]*\]")


def strict() -> bool:
    return STRICT_LESSONS or os.environ.get("CNLAB_I18N_STRICT") == "1"


def has_cjk(text: str) -> bool:
    return any("\u4e00" <= char <= "\u9fff" for char in text)


def _variables(source: str) -> set[str]:
    env = jinja2.Environment(autoescape=False)
    try:
        return set(jinja2.meta.find_undeclared_variables(env.parse(source)))
    except jinja2.TemplateSyntaxError:
        return {"<template syntax error>"}


def _field_problems(where: str, english: str, translated: Any) -> list[str]:
    """One learner-facing field: translated, same variables, same commands."""
    if not isinstance(translated, str) or not translated.strip():
        return [f"{where}: not translated"]
    problems = []
    if translated.strip() == english.strip() or not has_cjk(translated):
        problems.append(f"{where}: not translated (no Chinese in it)")
    if _variables(english) != _variables(translated):
        problems.append(
            f"{where}: variables differ: English {sorted(_variables(english))}, "
            f"translation {sorted(_variables(translated))}"
        )
    spans, their = Counter(_CODE_SPAN.findall(english)), Counter(_CODE_SPAN.findall(translated))
    if spans != their:
        lost, added = sorted((spans - their).elements()), sorted((their - spans).elements())
        problems.append(f"{where}: code spans differ (missing {lost}, new {added})")
    return problems


def _read(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        data: dict[str, Any] = tomllib.load(fh)
        return data


def _meta_problems(path: Path, lang: str) -> list[str]:
    """``lesson.<lang>.toml`` against ``lesson.toml``, field by field."""
    name = f"lesson.{lang}.toml"
    try:
        english, translated = _read(path / "lesson.toml"), _read(path / name)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return [f"{name}: {exc}"]
    problems = []
    for key in ("title", "goal"):
        problems += _field_problems(f"{name} {key}", english.get(key, ""), translated.get(key))
    hints, their_hints = english.get("hints", []), translated.get("hints", [])
    if len(hints) != len(their_hints):
        problems.append(f"{name}: {len(their_hints)} hints for {len(hints)} English ones")
    for n, (hint, theirs) in enumerate(zip(hints, their_hints, strict=False), 1):
        problems += _field_problems(f"{name} hint {n}", hint, theirs)
    titles = translated.get("milestones", {})
    for milestone in english.get("milestones", []):
        mid = milestone.get("id", "?")
        got = titles.get(mid) if isinstance(titles, dict) else None
        problems += _field_problems(f"{name} milestone {mid}", milestone.get("title", ""), got)
    return problems


def _fences(markdown: str) -> list[tuple[str, str]]:
    return [(m.group(1).strip(), m.group(2)) for m in _FENCE.finditer(markdown)]


def _text_problems(english: Lesson, translated: Lesson) -> list[str]:
    """The text: the same variables, commands unchanged, diagrams as wide as before."""
    name = f"text.{translated.lang}.md.j2"
    source_en = (english.path / "text.md.j2").read_text(encoding="utf-8")
    source = (translated.path / name).read_text(encoding="utf-8")
    problems = []
    if not has_cjk(source):
        problems.append(f"{name}: not translated (no Chinese in it)")
    if _variables(source_en) != _variables(source):
        missing = sorted(_variables(source_en) - _variables(source))
        added = sorted(_variables(source) - _variables(source_en))
        problems.append(f"{name}: variables differ (missing {missing}, new {added})")
    try:
        fences_en, fences = _fences(english.text()), _fences(translated.text())
    except LabError as exc:
        return [*problems, exc.message]
    code_en = [body for tag, body in fences_en if tag]
    code = [body for tag, body in fences if tag]
    if code_en != code:
        problems.append(f"{name}: its code blocks differ from text.md.j2's (commands are copied)")
    pictures_en = [body for tag, body in fences_en if not tag]
    pictures = [body for tag, body in fences if not tag]
    if len(pictures_en) != len(pictures):
        problems.append(f"{name}: {len(pictures)} diagrams for {len(pictures_en)} English ones")
    for n, (before, after) in enumerate(zip(pictures_en, pictures, strict=False), 1):
        widths_en = [i18n.width(line) for line in before.splitlines()]
        widths = [i18n.width(line) for line in after.splitlines()]
        if widths_en != widths:
            problems.append(
                f"{name}: diagram {n} is not as wide as the English one line by line "
                f"(cells: {widths} for {widths_en}; a Chinese character takes two)"
            )
    return problems


def _solution_problems(english: Lesson, translated: Lesson) -> list[str]:
    name = f"solution.{translated.lang}.sh"
    try:
        steps_en = parse_steps(english.solution_script())
        steps = parse_steps(translated._render(name))
    except LabError as exc:
        return [exc.message]
    if [s.command for s in steps_en] != [s.command for s in steps]:
        return [f"{name}: its commands differ from solution.sh's (only the narration changes)"]
    return [
        f"{name}: step {n} ({step.command or 'the end'}): narration not translated"
        for n, (step_en, step) in enumerate(zip(steps_en, steps, strict=False), 1)
        if step_en.narration and not has_cjk(" ".join(step.narration))
    ]


def lesson_problems(path: Path, variables: Mapping[str, Any], lang: str = "zh") -> list[str]:
    """What is missing or broken in the ``lang`` translation of the lesson in ``path``;
    a lesson with no translated file at all is a problem only when :func:`strict`."""
    names = [pattern.format(lang=lang) for pattern in FILES]
    present = [name for name in names if (path / name).is_file()]
    if not present:
        return [f"not translated into {lang} ({', '.join(names)})"] if strict() else []
    problems = [f"{name}: missing" for name in names if name not in present]
    try:
        english = load_lesson(path, variables)
        translated = load_lesson(path, variables, lang)
    except LabError as exc:
        return [*problems, exc.message]
    if names[0] in present:
        problems += _meta_problems(path, lang)
    if names[1] in present:
        problems += _text_problems(english, translated)
    if names[2] in present:
        problems += _solution_problems(english, translated)
    return problems


def untranslated(root: Path, lang: str = "zh") -> list[str]:
    """Lesson folders with none of their ``lang`` files yet."""
    return sorted(
        folder.name
        for folder in root.iterdir()
        if folder.is_dir()
        and (folder / "lesson.toml").is_file()
        and not any((folder / p.format(lang=lang)).is_file() for p in FILES)
    )


# ------------------------------------------------------------------ the code's catalog


def _fields(text: str) -> Counter[str]:
    """The ``{name!r:spec}`` fields of a brace-format string (``{{`` is no field)."""
    found: Counter[str] = Counter()
    try:
        for _literal, name, spec, conversion in string.Formatter().parse(text):
            if name is not None:
                found[
                    f"{{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}"
                ] += 1
    except ValueError:
        found["<unbalanced braces>"] += 1
    return found


def placeholder_problems(msgid: str, msgstr: str) -> list[str]:
    """What a translation lost or invented: brace fields, % fields, Rich markup."""
    problems = []
    checks = (
        ("placeholders", _fields),
        ("%-placeholders", lambda t: Counter(_PERCENT.findall(t))),
        ("markup", lambda t: Counter(_MARKUP.findall(t))),
    )
    for what, find in checks:
        want, got = find(msgid), find(msgstr)
        if want != got:
            lost, added = sorted((want - got).elements()), sorted((got - want).elements())
            problems.append(f"{what} differ (lost {lost}, invented {added})")
    return problems


def code_messages(root: Path = ROOT) -> dict[str, int]:
    """Every string the code marks (``_``, ``N_``, ``ngettext``), as Babel extracts it:
    msgid (the singular for plurals) -> line count of where it was seen."""
    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir

    keywords = {**DEFAULT_KEYWORDS, "N_": None, "ngettext": (1, 2)}
    method_map = [("lab/**.py", "python"), ("checks/**.py", "python")]
    found: dict[str, int] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(root), method_map, keywords=keywords
    ):
        key = message if isinstance(message, str) else message[0]
        found[key] = found.get(key, 0) + 1
    return found


def untranslatable_calls(root: Path = ROOT) -> list[str]:
    """``_(f"...")``: the text is made before it is looked up, so it is never found."""
    bad = re.compile(r"\b_\(\s*f[\"']")
    return [
        f'{path.relative_to(root)}:{n}: _(f"...") cannot be translated; use _("...{{name}}").format(name=...)'
        for folder in ("lab", "checks")
        for path in sorted((root / folder).rglob("*.py"))
        if path.name != "i18n_lint.py"  # it names the mistake it looks for
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if bad.search(line)
    ]


def catalog_problems(lang: str = "zh", root: Path = ROOT, po: Path | None = None) -> list[str]:
    """The ``lang`` catalog against the code: complete, current, placeholders intact."""
    from babel.messages.pofile import read_po

    path = po or root / "lab" / "locale" / lang / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    wanted = code_messages(root)
    problems: list[str] = []
    have: set[str] = set()
    for message in catalog:
        if not message.id:
            continue
        msgid = message.id if isinstance(message.id, str) else message.id[0]
        have.add(msgid)
        shown = msgid if len(msgid) <= 70 else msgid[:67] + "..."
        if msgid not in wanted:
            problems.append(f"{shown!r}: no longer in the code (run scripts/i18n.sh extract)")
            continue
        strings: Iterable[str] = (
            [message.string] if isinstance(message.string, str) else list(message.string or ())
        )
        if not all(strings) or message.fuzzy:
            problems.append(f"{shown!r}: no {lang} translation")
            continue
        sources = [msgid] if isinstance(message.id, str) else list(message.id)
        for text in strings:
            for problem in placeholder_problems(sources[-1] if len(sources) > 1 else msgid, text):
                problems.append(f"{shown!r}: {problem}")
    for msgid in sorted(set(wanted) - have):
        problems.append(f"{msgid[:70]!r}: not in the catalog (run scripts/i18n.sh extract)")
    return problems + untranslatable_calls(root)
