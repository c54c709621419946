"""The property engine of the exact checks: hypothesis as a search for counterexamples.

An exact claim is a property: an assertion about one drawn instance. ``run_property`` runs it
under ``@given`` with the per-test seed (``hypothesis.seed``; the ``ci`` profile is not
derandomised, so a fresh ``--seed`` explores new instances and one seed reproduces), lets
hypothesis shrink a failure, and returns what the record needs: how many examples ran, and on
failure the shrunk instance's ``repr`` and the assertion's message. The statistical claims stay
out of ``@given`` (DEVELOPERS.md: no many-example statistical assertions inside it).

    outcome = run_property(lambda g: check_one(g), polynomial_link_expressions(max_degree=9),
                           examples=200, seed=seed)
    outcome.verdict          # SUPPORTED, or REFUTED with outcome.counterexample (shrunk)

Only ``AssertionError`` is a counterexample: any other exception is a defect of the check and
propagates.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from hypothesis import HealthCheck, Phase, example, given, seed as hypothesis_seed, settings
from hypothesis import strategies as st

from checks.evidence import Verdict

__all__ = ["PropertyOutcome", "run_property", "PROPERTY_SEED_BITS"]

#: hypothesis seeds are taken modulo 2^64 of the per-test seed (which is already 64-bit).
PROPERTY_SEED_BITS = 64


@dataclass(frozen=True)
class PropertyOutcome:
    """What one property run found: ``examples`` that ran (every one passed when SUPPORTED),
    and on failure the shrunk counterexample (its ``repr``) and the assertion message."""

    examples: int
    counterexample: str | None = None
    message: str | None = None
    explicit: int = 0  # of ``examples``, how many were the explicit edge cases

    @property
    def verdict(self) -> Verdict:
        return Verdict.SUPPORTED if self.counterexample is None else Verdict.REFUTED

    def summary(self) -> str:
        if self.counterexample is None:
            return f"holds on all {self.examples} examples ({self.explicit} explicit edge cases)"
        return f"counterexample (shrunk): {self.counterexample}: {self.message}"

    def as_measured(self) -> dict[str, Any]:
        out: dict[str, Any] = {"examples_run": self.examples, "explicit_edge_cases": self.explicit}
        if self.counterexample is not None:
            out.update({"counterexample": self.counterexample, "failure": self.message})
        return out


def run_property(check: Callable[..., Any], *strategies: st.SearchStrategy, examples: int, seed: int,
                 explicit: Sequence[tuple] = (), shrink: bool = True) -> PropertyOutcome:
    """Run ``check(*drawn)`` on ``examples`` instances drawn from ``strategies`` (after the
    ``explicit`` argument tuples, which always run), seeded with ``seed``. ``check`` asserts; the
    first failure is shrunk (unless ``shrink`` is False) and its minimal instance returned."""
    if examples < 1:
        raise ValueError(f"examples={examples}: a property needs at least one example")
    if not strategies:
        raise ValueError("run_property needs at least one strategy")
    state: dict[str, Any] = {"count": 0, "last": None}

    def body(*drawn):
        state["count"] += 1
        state["last"] = drawn
        check(*drawn)

    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if shrink else [])
    test = given(st.tuples(*strategies))(lambda drawn: body(*drawn))
    for args in reversed(list(explicit)):
        test = example(tuple(args))(test)
    test = settings(max_examples=examples, derandomize=False, database=None, deadline=None, phases=phases,
                    report_multiple_bugs=False, print_blob=False,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])(test)
    test = hypothesis_seed(int(seed) % 2**PROPERTY_SEED_BITS)(test)
    try:
        test()
    except AssertionError as exc:
        # hypothesis replays the minimal failing example last before re-raising its error
        drawn = state["last"]
        shown = repr(drawn[0]) if len(drawn) == 1 else repr(tuple(drawn))
        return PropertyOutcome(state["count"], shown, str(exc).split("\nFalsifying")[0], len(explicit))
    return PropertyOutcome(state["count"], None, None, len(explicit))
