"""Operating characteristics of a decision rule, simulated at the configuration a check ran.

A statistical verdict is worth what its rule can tell apart. For every gating statistical record
we state two numbers, both estimated by running the *rule itself* on simulated data that has the
seed count, the grid and the per-seed spread of the run being reported (the spread measured in
that run, not an idealised one):

- ``false_failure``: P(rule says REFUTED | the claim is true);
- ``power``: P(rule says REFUTED | a named, plausible alternative is true).

The simulation draws are independent Monte Carlo replicates, so each rate comes with a
Clopper–Pearson interval over them. A rule whose power is below ``MIN_POWER`` is *underpowered*
at that configuration, and the record says so.

Usage::

    oc = operating_characteristic(
        lambda rng: rule(simulate(truth, spread, rng)),          # -> Verdict
        lambda rng: rule(simulate(alternative, spread, rng)),
        alternative="exponent kq = 6 instead of k = 3",
        draws=400, rng=np.random.default_rng(seed), budget=2e-4,
        configuration={"seeds": 6, "ds": [8, 12, 16], "spread": 0.41})
    audit.record(..., operating=oc.to_dict())
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from checks.evidence import Verdict
from checks.stats import binomial_interval

__all__ = ["MIN_POWER", "RuleRate", "OperatingCharacteristic", "refutation_rate", "operating_characteristic"]

# The power a central claim's rule must reach against its named alternative in the tier that
# decides it (issue 12: "power >= 0.8"); the conventional 80% of trial design.
MIN_POWER = 0.8
# Confidence of the Clopper-Pearson interval on a simulated rate: two-sided 95%, the usual
# reporting level for a Monte Carlo proportion (it describes simulation error, it is not a test).
RATE_CONFIDENCE = 0.95


@dataclass(frozen=True)
class RuleRate:
    """How often a rule said REFUTED over ``draws`` independent simulated replicates."""

    scenario: str
    count: int
    draws: int

    @property
    def rate(self) -> float:
        return self.count / self.draws

    @property
    def interval(self) -> tuple[float, float]:
        iv = binomial_interval(self.count, self.draws, confidence=RATE_CONFIDENCE)  # Clopper-Pearson
        return iv.low, iv.high

    def to_dict(self) -> dict[str, Any]:
        low, high = self.interval
        return {"scenario": self.scenario, "refuted": self.count, "draws": self.draws, "rate": self.rate,
                "interval95": [low, high]}

    def __str__(self) -> str:
        low, high = self.interval
        return f"{self.count}/{self.draws} = {self.rate:.3g} [{low:.3g}, {high:.3g}]"


def refutation_rate(decide: Callable[[np.random.Generator], Verdict | str], *, draws: int,
                    rng: np.random.Generator, scenario: str) -> RuleRate:
    """Run ``decide`` on ``draws`` independent child generators of ``rng``; count REFUTED."""
    if draws < 1:
        raise ValueError(f"draws must be a positive integer, got {draws}")
    children = rng.spawn(draws)
    count = sum(Verdict(decide(child)) is Verdict.REFUTED for child in children)
    return RuleRate(scenario=scenario, count=int(count), draws=draws)


@dataclass(frozen=True)
class OperatingCharacteristic:
    """false_failure and power of one rule at one configuration, with what was simulated."""

    false_failure: RuleRate
    power: RuleRate
    alternative: str
    budget: float | None = None
    configuration: Mapping[str, Any] = field(default_factory=dict)

    @property
    def underpowered(self) -> bool:
        return self.power.rate < MIN_POWER

    @property
    def over_budget(self) -> bool:
        """The simulated false-failure rate is credibly above the declared budget (its whole
        95% interval lies above it)."""
        return self.budget is not None and self.false_failure.interval[0] > self.budget

    def summary(self) -> str:
        text = (f"false_failure {self.false_failure.rate:.3g} (budget {self.budget:g}), "
                if self.budget is not None else f"false_failure {self.false_failure.rate:.3g}, ")
        text += f"power {self.power.rate:.3g} vs {self.alternative}"
        if self.underpowered:
            text += f" (underpowered here: power {self.power.rate:.2f} < {MIN_POWER})"
        return text

    def to_dict(self) -> dict[str, Any]:
        return {"false_failure": self.false_failure.rate, "power": self.power.rate,
                "alternative": self.alternative, "budget": self.budget,
                "underpowered": self.underpowered, "over_budget": self.over_budget,
                "false_failure_detail": self.false_failure.to_dict(), "power_detail": self.power.to_dict(),
                "configuration": dict(self.configuration), "summary": self.summary()}


def operating_characteristic(decide_true: Callable[[np.random.Generator], Verdict | str],
                             decide_alternative: Callable[[np.random.Generator], Verdict | str], *,
                             alternative: str, draws: int, rng: np.random.Generator,
                             budget: float | None = None,
                             configuration: Mapping[str, Any] | None = None) -> OperatingCharacteristic:
    """Simulate a rule under the claim and under one alternative (independent streams of ``rng``)."""
    true_rng, alt_rng = rng.spawn(2)
    return OperatingCharacteristic(
        false_failure=refutation_rate(decide_true, draws=draws, rng=true_rng, scenario="claim true"),
        power=refutation_rate(decide_alternative, draws=draws, rng=alt_rng, scenario=alternative),
        alternative=alternative, budget=budget, configuration=dict(configuration or {}))
