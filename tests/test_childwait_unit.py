"""Waiting for a child without polling: same input, output and status as subprocess.run."""

from __future__ import annotations

import subprocess
import tempfile

import pytest

from lab import childwait


def _bash(script: bytes, timeout: float = 30.0) -> tuple[int, str]:
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(["bash", "-s"], stdin=subprocess.PIPE, stdout=out)
        try:
            code = childwait.communicate(proc, script, timeout)
        finally:
            if proc.returncode is None:
                proc.kill()
                proc.wait()
        out.seek(0)
        return code, out.read().decode()


def test_a_nested_shell_reads_the_rest_of_the_script() -> None:
    """As a solution's `sudo nsenter ... bash` does: the inner shell takes the lines up to
    its `exit`, then the outer one goes on (a pipe read as the child reads it)."""
    code, out = _bash(b"echo outer\nbash\necho inner\nexit 3\necho back $?\nexit 5\n")
    assert (code, out) == (5, "outer\ninner\nback 3\n")


def test_input_larger_than_a_pipe_is_fed_whole() -> None:
    script = b": padding to fill more than one pipe buffer\n" * 5000 + b"echo done\n"
    assert len(script) > 1 << 17
    assert _bash(script) == (0, "done\n")


def test_no_input_and_an_early_exit() -> None:
    assert _bash(b"") == (0, "")
    assert _bash(b"exit 7\n" + b"echo never\n" * 20000) == (7, "")


def test_a_child_past_its_timeout_is_reported_not_waited_for() -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        _bash(b"sleep 30\n", timeout=0.2)


def test_a_scratch_file_holds_a_childs_output_and_has_no_name() -> None:
    import os

    with childwait.scratch_file() as out:
        subprocess.run(["echo", "from the child"], stdout=out, check=True)
        out.seek(0)
        assert out.read() == b"from the child\n"
        assert os.readlink(f"/proc/self/fd/{out.fileno()}").endswith("(deleted)")
