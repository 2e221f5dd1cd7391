"""Shell completion for bash and zsh, generated from cnlab's own argument parser.

``cnlab completion bash`` prints a script that teaches bash every verb and every option
``cnlab --help`` knows (the parser is the one source: a new verb completes without a
change here). ``scripts/setup.sh`` installs it as ``/etc/bash_completion.d/cnlab``; for
zsh, put the output of ``cnlab completion zsh`` as ``_cnlab`` in a folder of ``$fpath``.
The generator is shtab's, a well-kept library that reads an ``argparse`` parser.
"""

from __future__ import annotations

import argparse

SHELLS = ("bash", "zsh")


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script for ``shell`` (``bash`` or ``zsh``) of ``parser``."""
    import shtab

    return str(shtab.complete(parser, shell=shell))


def cmd_completion(args: argparse.Namespace) -> int:
    from lab.cli import build_parser

    print(completion_script(build_parser(), args.shell), end="")
    return 0
