"""Shell completion generated from the parser knows every verb (and a verb's options).

The bash script is loaded into a real bash and asked to complete ``cnlab <Tab>`` and
``cnlab grade --<Tab>`` the way bash-completion asks (COMP_WORDS, COMP_CWORD); the zsh
script must name every verb and pass ``zsh -n`` when zsh is on the machine.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess

import pytest

from lab.cli import build_parser, main
from lab.completion import completion_script


def _verbs() -> list[str]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return sorted(action.choices)
    raise AssertionError("no verbs")


def _bash_complete(script: str, words: list[str]) -> set[str]:
    program = (
        script
        + "\nCOMP_WORDS=("
        + " ".join(f"'{w}'" for w in words)
        + f")\nCOMP_CWORD={len(words) - 1}\nCOMP_LINE='{' '.join(words)}'\n"
        + f"COMP_POINT=${{#COMP_LINE}}\n_shtab_cnlab cnlab '{words[-1]}' '{words[-2]}'\n"
        + 'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    out = subprocess.run(["bash", "-c", program], capture_output=True, text=True, check=True)
    return {line.strip() for line in out.stdout.splitlines() if line.strip()}


def test_bash_completes_every_verb() -> None:
    verbs = _verbs()
    assert {"list", "reset", "grade", "completion"} <= set(verbs)
    offered = _bash_complete(completion_script(build_parser(), "bash"), ["cnlab", ""])
    assert set(verbs) <= offered, set(verbs) - offered


def test_bash_completes_a_verbs_options() -> None:
    offered = _bash_complete(completion_script(build_parser(), "bash"), ["cnlab", "grade", "--"])
    assert {"--fail-under", "--strict", "--format", "--world"} <= offered, offered


def test_zsh_script_names_every_verb() -> None:
    script = completion_script(build_parser(), "zsh")
    assert script.startswith("#compdef cnlab")
    for verb in _verbs():
        assert f"\n    {verb}:" in script, verb  # described in the verb list
        assert f"\n        {verb}) _arguments" in script, verb  # its options
    if shutil.which("zsh"):
        subprocess.run(["zsh", "-n"], input=script, text=True, check=True)


def test_completion_verb_prints_the_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["completion", "bash"]) == 0
    assert "_shtab_cnlab" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exc:
        main(["completion", "fish"])
    assert exc.value.code == 2
