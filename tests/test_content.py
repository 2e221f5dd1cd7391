"""Prove the real lessons, like rustlings' `dev check`: start fails, solution passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.lessons import load_course
from tests.conftest import cnlab, unique_world_name

pytestmark = pytest.mark.integration

DIAGRAMS = Path(__file__).resolve().parents[1] / "docs" / "lessons"

EXPECTED = [
    "01-namespace",
    "02-veth",
    "03-route-clash",
    "04-bridge",
    "05-gateway",
    "06-ip-forward",
    "07-masquerade",
    "08-port-publishing",
    "09-docker-firewall",
    "10-network-modes",
    "11-rootless",
]


def test_the_lessons_in_order() -> None:
    assert [lesson.id for lesson in load_course().lessons] == EXPECTED


def test_every_lesson_start_fails_and_solution_passes(tmp_path: Path) -> None:
    """... and each solved world, the lesson's goal, draws as docs/lessons/ shows it."""
    drawn = tmp_path / "diagrams"
    out = cnlab(
        "dev", "check", "--json", "--diagrams", str(drawn), env={"CNLAB_LESSONS": ""}, timeout=600
    )
    proofs = json.loads(out.stdout)
    assert [p["lesson"] for p in proofs] == EXPECTED
    bad = {p["lesson"]: p["problems"] for p in proofs if not p["ok"]}
    assert bad == {}
    assert out.returncode == 0
    stale = [
        lesson
        for lesson in EXPECTED
        if (drawn / f"{lesson}.mmd").read_text(encoding="utf-8")
        != (DIAGRAMS / f"{lesson}.mmd").read_text(encoding="utf-8")
    ]
    assert not stale, f"redraw with `cnlab dev check --diagrams docs/lessons`: {stale}"
    assert all((drawn / f"{lesson}.svg").read_text().startswith("<?xml") for lesson in EXPECTED)


def test_failure_lessons_confirm_the_failure_and_its_cause() -> None:
    course = load_course()
    for lesson_id, cause in (
        ("03-route-clash", "route-clash"),
        ("06-ip-forward", "masquerade-missing"),
    ):
        causes = [m.args.get("cause") for m in course.find(lesson_id).milestones]
        assert cause in causes, lesson_id


def test_the_articles_masquerade_typo_is_explained() -> None:
    name = unique_world_name("typo")
    try:
        assert cnlab("--world", name, "reset", "7", env={"CNLAB_LESSONS": ""}).returncode == 0
        out = cnlab(
            "--world",
            name,
            "shell",
            "-c",
            "sudo iptables -t nat -A POSTROUTING -s 172.18.0.0/16 !-o br0 -j MASQUERADE",
        )
        assert out.returncode == 2
        assert "Bad argument `!-o'" in out.stderr
        assert "write '! -o' instead of '!-o'" in out.stderr
    finally:
        cnlab("--world", name, "down")


def test_modprobe_br_netfilter_works_where_it_is_built_in() -> None:
    name = unique_world_name("mod")
    try:
        cnlab("--world", name, "reset", "8", env={"CNLAB_LESSONS": ""})
        out = cnlab("--world", name, "shell", "-c", "sudo modprobe br_netfilter")
        assert out.returncode == 0
        assert "already active" in out.stderr
    finally:
        cnlab("--world", name, "down")


START_CAUSES = {
    # ...and the observations: nothing looked at yet (lesson 3's needs netns1 first)
    "01-namespace": {"state-wrong", "netns-missing", "not-seen"},
    "02-veth": {"link-missing", "link-down", "route-missing", "not-seen"},
    "03-route-clash": {"netns-missing", "link-missing", "route-missing", "address-missing"},
    "04-bridge": {"link-missing", "not-bridged", "state-wrong"},
    "05-gateway": {"address-missing", "gateway-missing"},
    "06-ip-forward": {"ip-forward-off", "not-seen"},
    "07-masquerade": {"masquerade-missing"},
    "08-port-publishing": {"service-down", "dnat-missing", "dnat-local-missing"},
    # the nat DOCKER chain is missing; the two paths nothing should allow still connect
    "09-docker-firewall": {"state-wrong"},
    # no host-mode server, nothing on 10.0.2.15:6000, no `sleep infinity` of its own
    "10-network-modes": {"state-wrong", "service-down"},
    # no process of learner holds a namespace of its own yet
    "11-rootless": {"netns-missing"},
}


def test_each_start_state_fails_for_the_right_reasons() -> None:
    name = unique_world_name("why")
    env = {"CNLAB_LESSONS": ""}
    try:
        for lesson_id, causes in START_CAUSES.items():
            assert cnlab("--world", name, "reset", lesson_id, env=env).returncode == 0
            report = json.loads(cnlab("--world", name, "check", "--json", env=env).stdout)
            failed = [m for m in report["milestones"] if not m["passed"]]
            assert failed, lesson_id
            assert {m["cause"] for m in failed} == causes, lesson_id
            assert all(m["explanation"] for m in failed), lesson_id
    finally:
        cnlab("--world", name, "down")
