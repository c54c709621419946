"""Evidence records, verdicts and how they combine.

A check records evidence: the parameters and seed it ran with, what it measured, an interval
where there is one, the tolerance with its reason, the decision rule, and a verdict. Several
records may speak to one claim; `combine` turns them into the claim's verdict.
"""
from __future__ import annotations

import enum
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

__all__ = [
    "Verdict",
    "Tolerance",
    "Interval",
    "Evidence",
    "combine",
    "fails_run",
    "to_jsonable",
]


class Verdict(str, enum.Enum):
    SUPPORTED = "SUPPORTED"
    REFUTED = "REFUTED"
    INCONCLUSIVE = "INCONCLUSIVE"
    # Not a check's outcome: a registered claim that no test checked in this run.
    MISSING = "MISSING"


@dataclass(frozen=True)
class Tolerance:
    """A tolerance and the error budget it comes from (the reason is mandatory)."""

    value: float
    reason: str

    def __post_init__(self) -> None:
        if not (isinstance(self.value, (int, float)) and math.isfinite(self.value) and self.value >= 0):
            raise ValueError(f"a tolerance must be a finite number >= 0, got {self.value!r}")
        if not self.reason.strip():
            raise ValueError("a tolerance needs the reason (error budget) it comes from")


@dataclass(frozen=True)
class Interval:
    """A confidence (or exact) interval for a measured quantity."""

    low: float
    high: float
    confidence: float | None = None  # None: an exact enclosure
    method: str = ""

    def __post_init__(self) -> None:
        if not self.low <= self.high:
            raise ValueError(f"interval low {self.low} exceeds high {self.high}")

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        conf = f"{100 * self.confidence:g}% " if self.confidence is not None else ""
        return f"{conf}[{self.low:.4g}, {self.high:.4g}]"


@dataclass
class Evidence:
    """One check's contribution to one claim."""

    claim_id: str
    verdict: Verdict
    rule: str
    key_figure: str = ""
    check: str = ""  # the test node id
    parameters: dict[str, Any] = field(default_factory=dict)
    seed: int | None = None
    measured: dict[str, Any] = field(default_factory=dict)
    interval: Interval | None = None
    tolerance: Tolerance | None = None
    false_failure_budget: float | None = None
    predicts_break: bool = False  # probes: theory predicts a break, so its absence fails
    # Operating characteristic of the rule at the configuration run (checks.power):
    # {"false_failure": P(REFUTED | claim true), "power": P(REFUTED | alternative), "alternative": ...}.
    operating: dict[str, Any] | None = None
    # What one unit of every interval in this record is (e.g. "training seed: fresh data, V, s, test set").
    unit: str = ""
    figures: list[dict[str, Any]] = field(default_factory=list)
    notes: str = ""
    # Claim metadata travels with the record so the controller can report claims that only a
    # worker knows (a user conjecture registered in a test module).
    claim: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.verdict = Verdict(self.verdict)
        if self.verdict is Verdict.MISSING:
            raise ValueError("MISSING is the report's word for an unchecked claim, not a verdict")
        if not self.rule.strip():
            raise ValueError(f"evidence for {self.claim_id!r} must state its decision rule")
        if self.false_failure_budget is not None and not 0 <= self.false_failure_budget <= 1:
            raise ValueError("a false-failure budget is a probability in [0, 1]")
        if self.operating is not None:
            missing = {"false_failure", "power", "alternative"} - set(self.operating)
            if missing:
                raise ValueError(f"evidence for {self.claim_id!r}: operating characteristic lacks {sorted(missing)}")

    def to_dict(self) -> dict[str, Any]:
        return to_jsonable(asdict(self))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Evidence":
        data = dict(data)
        if data.get("interval") is not None:
            data["interval"] = Interval(**data["interval"])
        if data.get("tolerance") is not None:
            data["tolerance"] = Tolerance(**data["tolerance"])
        return cls(**data)


def combine(verdicts: Iterable[Verdict]) -> Verdict:
    """A claim's verdict: any REFUTED refutes; all SUPPORTED support; else INCONCLUSIVE.

    No evidence at all is MISSING.
    """
    verdicts = [Verdict(v) for v in verdicts]
    if not verdicts:
        return Verdict.MISSING
    if Verdict.REFUTED in verdicts:
        return Verdict.REFUTED
    if all(v is Verdict.SUPPORTED for v in verdicts):
        return Verdict.SUPPORTED
    return Verdict.INCONCLUSIVE


def fails_run(kind: str, evidence: Evidence) -> bool:
    """Whether this record fails its test, given the claim's kind."""
    if evidence.verdict is not Verdict.REFUTED:
        return False
    if kind == "claim":
        return True
    if kind == "probe":
        return evidence.predicts_break
    return False  # conjectures and reports never fail the run


def to_jsonable(value: Any) -> Any:
    """Plain JSON types from numpy/torch scalars, arrays, enums, tuples; non-finite floats as strings."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return to_jsonable(value.tolist())
    if isinstance(value, bool) or value is None or isinstance(value, (int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    if type(value).__module__.startswith(("sympy", "fractions")):
        return str(value)  # exact values stay exact in the report
    if hasattr(value, "item"):
        return to_jsonable(value.item())
    return str(value)
