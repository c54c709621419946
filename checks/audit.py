"""What a check uses: the ``claim_check`` decorator and the evidence recorder.

    from checks.audit import claim_check

    @claim_check("lemma2.degree-k", k=[2, 3])
    def test_degree_k(k, audit, rng):
        ...
        audit.record(verdict=Verdict.SUPPORTED, rule="...", key_figure="slope -0.98")

The test id becomes ``...::test_degree_k[lemma2.degree-k[k=2]]``, so ``-k lemma2.degree-k``
selects the claim. A REFUTED ``claim`` (or a probe whose predicted break did not appear) fails
the test at the end of its call, after all its evidence is recorded.
"""
from __future__ import annotations

import itertools
from typing import Any, Iterable, Sequence

import pytest

from .evidence import Evidence, Interval, Tolerance, Verdict, fails_run
from .registry import Claim, Kind, get_claim

__all__ = ["claim_check", "AuditRecorder", "case_id"]

CLAIM_MARKER = "hierpoly_claim"


def case_id(claim_id: str, case: dict[str, Any]) -> str:
    """``lemma2.degree-k[k=3,L=64]``: the test id of one case of a claim's check."""
    if not case:
        return claim_id
    return f"{claim_id}[{','.join(f'{k}={_short(v)}' for k, v in case.items())}]"


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def claim_check(claim_id: str, **cases: Sequence[Any]):
    """Mark a test as a check of ``claim_id`` and parametrise it over the cartesian product of
    ``cases`` (name -> values). The claim must be registered: an unknown id raises here, at
    collection, with the id in the message.
    """
    claim = get_claim(claim_id)
    for name, values in cases.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise TypeError(f"case {name!r} of {claim_id!r} must be a sequence of values")
    kind_marker = getattr(pytest.mark, claim.kind.value)

    def decorate(fn):
        fn = pytest.mark.usefixtures("hierpoly_claim_id")(fn)
        fn = kind_marker(fn)
        return getattr(pytest.mark, CLAIM_MARKER)(claim.id, cases={k: list(v) for k, v in cases.items()})(fn)

    return decorate


def parametrize_claim(metafunc) -> None:
    """pytest_generate_tests body: one parametrisation whose ids are claim ids."""
    marker = metafunc.definition.get_closest_marker(CLAIM_MARKER)
    if marker is None:
        return
    claim_id = marker.args[0]
    cases: dict[str, list] = marker.kwargs.get("cases", {})
    names = list(cases)
    combos = list(itertools.product(*cases.values())) if names else [()]
    params = [
        pytest.param(claim_id, *combo, id=case_id(claim_id, dict(zip(names, combo))))
        for combo in combos
    ]
    metafunc.parametrize(["hierpoly_claim_id", *names], params)


class AuditRecorder:
    """Collects the evidence one test records; the plugin ships it to the report."""

    def __init__(self, *, node_id: str, seed: int, base_seed: int, default_claim_id: str | None):
        self.node_id = node_id
        self.seed = seed
        self.base_seed = base_seed
        self.default_claim_id = default_claim_id
        self.records: list[Evidence] = []

    def claim(self, claim_id: str | None = None) -> Claim:
        claim_id = claim_id or self.default_claim_id
        if claim_id is None:
            raise ValueError("this test is not a claim check: name the claim id explicitly")
        return get_claim(claim_id)

    def record(
        self,
        claim_id: str | None = None,
        *,
        verdict: Verdict | str,
        rule: str,
        key_figure: str = "",
        parameters: dict[str, Any] | None = None,
        measured: dict[str, Any] | None = None,
        interval: Interval | None = None,
        tolerance: Tolerance | None = None,
        false_failure_budget: float | None = None,
        predicts_break: bool = False,
        operating: dict[str, Any] | None = None,
        unit: str = "",
        figures: Iterable[dict[str, Any]] = (),
        notes: str = "",
        seed: int | None = None,
    ) -> Evidence:
        """Record one piece of evidence for a claim (the test's own claim by default)."""
        claim = self.claim(claim_id)
        if predicts_break and claim.kind is not Kind.PROBE:
            raise ValueError(f"predicts_break is for probes; {claim.id!r} is a {claim.kind.value}")
        evidence = Evidence(
            claim_id=claim.id,
            verdict=Verdict(verdict),
            rule=rule,
            key_figure=key_figure,
            check=self.node_id,
            parameters=dict(parameters or {}),
            seed=self.seed if seed is None else seed,
            measured=dict(measured or {}),
            interval=interval,
            tolerance=tolerance,
            false_failure_budget=false_failure_budget,
            predicts_break=predicts_break,
            operating=operating,
            unit=unit,
            figures=list(figures),
            notes=notes,
            claim=claim.as_dict(),
        )
        self.records.append(evidence)
        return evidence

    def failing(self) -> list[Evidence]:
        return [ev for ev in self.records if fails_run(ev.claim["kind"], ev)]

    def failure_message(self) -> str:
        lines = []
        for ev in self.failing():
            what = "predicted break did not appear" if ev.predicts_break else "claim REFUTED"
            lines.append(f"{ev.claim_id}: {what}: {ev.key_figure}")
            lines.append(f"  rule: {ev.rule}")
            if ev.tolerance is not None:
                lines.append(f"  tolerance: {ev.tolerance.value:g} ({ev.tolerance.reason})")
            if ev.interval is not None:
                lines.append(f"  interval: {ev.interval}")
            if ev.measured:
                lines.append(f"  measured: {ev.measured}")
            if ev.parameters:
                lines.append(f"  parameters: {ev.parameters}")
            lines.append(f"  seed: {ev.seed} (base seed {self.base_seed}; rerun with --seed {self.base_seed})")
        return "\n".join(lines)
