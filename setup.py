"""Build hook: the wheel carries the lessons (``lessons/`` of the checkout) as ``lab/_lessons``.

The lessons stay a top-level folder of data in the repository (adding one needs no Python
change); an installed ``cnlab`` (wheel, ``pipx install .``) finds them inside its package,
see :func:`lab.lessons.lessons_dir`. Everything else is in ``pyproject.toml``.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


def compile_catalogs(package: Path) -> None:
    """Each ``locale/*/LC_MESSAGES/*.po`` of the built package compiled to its ``.mo``
    (with Babel when the build has it; else cnlab compiles them when first used)."""
    try:
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po
    except ImportError:
        return
    for po in (package / "locale").glob("*/LC_MESSAGES/*.po"):
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=po.parent.parent.name)
        with po.with_suffix(".mo").open("wb") as out:
            write_mo(out, catalog)


class BuildWithLessons(build_py):
    """Copy ``lessons/`` into the built package as ``lab/_lessons``; compile the catalogs."""

    def run(self) -> None:
        super().run()
        compile_catalogs(Path(self.build_lib) / "lab")
        source = Path(__file__).resolve().parent / "lessons"
        target = Path(self.build_lib) / "lab" / "_lessons"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))


setup(cmdclass={"build_py": BuildWithLessons})
