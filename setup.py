"""Build hook: the wheel carries the lessons (``lessons/`` of the checkout) as ``lab/_lessons``.

The lessons stay a top-level folder of data in the repository (adding one needs no Python
change); an installed ``cnlab`` (wheel, ``pipx install .``) finds them inside its package,
see :func:`lab.lessons.lessons_dir`. Everything else is in ``pyproject.toml``.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithLessons(build_py):
    """Copy ``lessons/`` into the built package as ``lab/_lessons``."""

    def run(self) -> None:
        super().run()
        source = Path(__file__).resolve().parent / "lessons"
        target = Path(self.build_lib) / "lab" / "_lessons"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))


setup(cmdclass={"build_py": BuildWithLessons})
