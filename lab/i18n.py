"""Which language the learner reads, and the translated strings of the code (gettext).

The lab speaks English (the default) and Simplified Chinese. Machine fields (lesson and
milestone ids, cause codes, JSON keys) never change with the language; every sentence a
person reads does. Two kinds of text are translated, in two ways:

* **lesson content** is data, beside the English in each lesson folder
  (``lesson.zh.toml``, ``text.zh.md.j2``: see ``docs/i18n.md`` and :mod:`lab.lessons`);
* **the code's own strings** (CLI messages, TUI labels, causes, evidence lines) go through
  GNU gettext: ``_("...")`` here, catalogs in ``lab/locale/<lang>/LC_MESSAGES/cnlab.po``
  extracted and compiled with Babel (``pybabel``; ``scripts/setup.sh`` and the wheel build
  compile the ``.mo``; a missing or older ``.mo`` is compiled from the ``.po`` in memory).

Which language: ``--lang`` on the command line, else the choice the learner saved with
their progress (``--lang`` or the TUI's palette), else the locale environment as gettext
reads it (``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``: a ``zh_*`` locale gives
Chinese), else English. The current language is one process-wide setting
(:func:`set_language`), read each time a string is translated, so a live switch in the TUI
only needs the screen drawn again.

Chinese characters take two terminal cells: :func:`width` and :func:`ljust` measure and
pad by cells, not by characters, so columns still line up.
"""

from __future__ import annotations

import gettext as _gettext
import io
import os
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path

#: The languages the lab speaks; the first is the default and the source language.
LANGUAGES: tuple[str, ...] = ("en", "zh")
DEFAULT = "en"
#: Each language's own name, for menus (not translated: a learner finds their language).
NAMES: dict[str, str] = {"en": "English", "zh": "简体中文"}
DOMAIN = "cnlab"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"

_current = DEFAULT
_catalogs: dict[str, _gettext.NullTranslations] = {}


def normalize(value: str | None) -> str | None:
    """``zh``, ``zh_CN.UTF-8``, ``zh-Hans`` -> ``zh``; ``en_US``, ``C``, ``POSIX`` -> ``en``;
    anything else (an empty value, a language the lab does not speak) -> None."""
    if not value:
        return None
    text = value.strip().lower()
    if text in ("c", "posix") or text.startswith("c."):
        return "en"
    base = text.replace("-", "_").split(".")[0].split("@")[0].split("_")[0]
    return base if base in LANGUAGES else None


def from_environment(environ: Mapping[str, str] | None = None) -> str | None:
    """The language the locale environment asks for, as gettext reads it: the first set
    of ``LANGUAGE`` (a colon list: its first entry the lab speaks), ``LC_ALL``,
    ``LC_MESSAGES``, ``LANG``. None when none of them names a language the lab speaks."""
    env = os.environ if environ is None else environ
    for name in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if not value:
            continue
        for item in value.split(":") if name == "LANGUAGE" else [value]:
            found = normalize(item)
            if found:
                return found
        if name != "LANGUAGE":  # the first locale variable set decides, as in gettext
            return normalize(value) or DEFAULT
    return None


def resolve(
    explicit: str | None = None,
    saved: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> str:
    """The language to use: ``--lang``, else the saved choice, else the environment."""
    for candidate in (explicit, saved):
        found = normalize(candidate)
        if found:
            return found
    return from_environment(environ) or DEFAULT


def set_language(lang: str) -> str:
    """Make ``lang`` the language of every string translated from now on; returns it."""
    global _current
    found = normalize(lang)
    if found is None:
        raise ValueError(f"unknown language {lang!r} (known: {', '.join(LANGUAGES)})")
    _current = found
    return found


def language() -> str:
    return _current


def _compile_po(po: Path) -> _gettext.NullTranslations:
    """A ``.po`` catalog compiled in memory with Babel (no ``.mo`` was built yet)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as fh:
        catalog = read_po(fh, locale=po.parent.parent.name)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return _gettext.GNUTranslations(buffer)


def catalog(lang: str) -> _gettext.NullTranslations:
    """The translations of ``lang``: its ``.mo`` when it is at least as new as its
    ``.po``, else the ``.po`` compiled now; English (the source) is the identity."""
    found = _catalogs.get(lang)
    if found is not None:
        return found
    translations: _gettext.NullTranslations = _gettext.NullTranslations()
    if lang != DEFAULT:
        folder = LOCALE_DIR / lang / "LC_MESSAGES"
        mo, po = folder / f"{DOMAIN}.mo", folder / f"{DOMAIN}.po"
        try:
            if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
                with mo.open("rb") as fh:
                    translations = _gettext.GNUTranslations(fh)
            elif po.is_file():
                translations = _compile_po(po)
        except (OSError, ImportError, ValueError):
            translations = _gettext.NullTranslations()  # English rather than no lab
    _catalogs[lang] = translations
    return translations


def gettext(message: str) -> str:
    """``message`` in the current language (the English itself when untranslated)."""
    if _current == DEFAULT:
        return message
    return catalog(_current).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    if _current == DEFAULT:
        return singular if n == 1 else plural
    return catalog(_current).ngettext(singular, plural, n)


#: The usual short name: ``from lab.i18n import _``.
_ = gettext


def N_(message: str) -> str:
    """Mark ``message`` for extraction without translating it now (module-level tables
    whose entries are translated where they are shown, with :func:`gettext`)."""
    return message


def width(text: str) -> int:
    """Terminal cells ``text`` takes: East Asian wide and full-width characters take two,
    combining marks none."""
    cells = 0
    for char in text:
        if unicodedata.combining(char):
            continue
        cells += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return cells


def ljust(text: str, cells: int) -> str:
    """``text`` padded with spaces to ``cells`` terminal cells (``str.ljust`` counts
    characters, which misaligns a column of Chinese text)."""
    return text + " " * max(0, cells - width(text))


def _is_cjk(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


_LIST_ITEM = re.compile(r"^([-*+]|\d+[.)])\s")


def join_cjk_lines(markdown: str) -> str:
    """Markdown source of Chinese prose, with the line breaks inside its paragraphs taken
    out where they touch Chinese text: Markdown turns a soft line break into a space,
    which Chinese does not put between characters. Fenced code blocks are left as
    they are."""
    out: list[str] = []
    fenced = False
    for line in markdown.split("\n"):
        stripped = line.strip()
        if stripped.startswith("```"):
            fenced = not fenced
            out.append(line)
            continue
        if fenced or not out or not stripped:
            out.append(line)
            continue
        previous = out[-1].rstrip()
        block_start = (
            stripped[0] in "#|>"
            or _LIST_ITEM.match(stripped) is not None
            or line.startswith("    ")
        )
        joinable = (
            previous
            and not previous.lstrip().startswith(("```", "|", "#"))
            and not block_start
            and (_is_cjk(previous[-1]) or _is_cjk(stripped[0]))
        )
        if joinable:
            out[-1] = previous + stripped
        else:
            out.append(line)
    return "\n".join(out)
