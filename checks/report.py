"""What a check run produced, in the shape ``cnlab check --json`` prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from checks.trace import Trace


@dataclass
class MilestoneResult:
    id: str
    title: str
    passed: bool
    cause: str | None = None  # a code from checks.causes when failed
    explanation: str = ""
    evidence: list[str] = field(default_factory=list)
    duration_ms: int = 0
    #: the failing milestone's packet followed hop by hop (``cnlab check --trace``)
    trace: Trace | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "passed": self.passed,
            "cause": self.cause,
            "explanation": self.explanation,
            "evidence": list(self.evidence),
        }
        if self.trace is not None:
            data["trace"] = self.trace.to_json()
        return data


@dataclass
class LessonReport:
    lesson: str
    world: str
    milestones: list[MilestoneResult]
    duration_ms: int = 0

    @property
    def passed(self) -> bool:
        return all(m.passed for m in self.milestones)

    @property
    def first_failure(self) -> MilestoneResult | None:
        return next((m for m in self.milestones if not m.passed), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "lesson": self.lesson,
            "world": self.world,
            "passed": self.passed,
            "duration_ms": self.duration_ms,
            "milestones": [m.to_json() for m in self.milestones],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LessonReport:
        return cls(
            lesson=data["lesson"],
            world=data["world"],
            duration_ms=int(data.get("duration_ms", 0)),
            milestones=[
                MilestoneResult(
                    id=m["id"],
                    title=m["title"],
                    passed=bool(m["passed"]),
                    cause=m.get("cause"),
                    explanation=m.get("explanation", ""),
                    evidence=list(m.get("evidence", [])),
                )
                for m in data["milestones"]
            ],
        )

    def to_text(self) -> str:
        done = sum(m.passed for m in self.milestones)
        lines = [f"{self.lesson}: {done}/{len(self.milestones)} milestones ({self.duration_ms} ms)"]
        for m in self.milestones:
            lines.append(f"  {'✔' if m.passed else '✘'} {m.title}")
            if m.passed and m.explanation:
                lines.append(f"      why: {m.explanation}")
            if not m.passed:
                if m.cause:
                    lines.append(f"      cause: {m.cause}")
                if m.explanation:
                    lines.append(f"      {m.explanation}")
                for item in m.evidence:
                    lines.append(f"      · {item}")
                if m.trace is not None:
                    from checks.trace import to_text  # only when a trace was asked for

                    lines += [
                        f"      {line}" for line in to_text(m.trace, explain=False).splitlines()
                    ]
        return "\n".join(lines)
