"""Decision-rule statistics shared by the checks: intervals, slopes, binomial rates.

Every function states its interval's coverage; checks turn intervals into verdicts with
``verdict_at_most`` / ``verdict_at_least`` so the rule reads the same everywhere.
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from scipy import stats

from .evidence import Interval, Verdict

__all__ = [
    "loglog_slope",
    "bootstrap_interval",
    "binomial_interval",
    "probability_at_least",
    "verdict_at_most",
    "verdict_at_least",
]


def loglog_slope(x: Sequence[float], y: Sequence[float], *, confidence: float = 0.95) -> tuple[float, Interval]:
    """OLS slope of log y on log x with its t-interval (valid for independent, homoscedastic
    log-errors; for deterministic exact values the interval only measures curvature)."""
    lx, ly = np.log(np.asarray(x, float)), np.log(np.asarray(y, float))
    if lx.size < 3:
        raise ValueError("a slope with an interval needs at least 3 points")
    if not (np.all(np.isfinite(lx)) and np.all(np.isfinite(ly))):
        raise ValueError("log-log slope needs positive finite x and y")
    res = stats.linregress(lx, ly)
    t = stats.t.ppf(0.5 + confidence / 2, lx.size - 2)
    half = t * res.stderr
    return float(res.slope), Interval(res.slope - half, res.slope + half, confidence, "OLS t-interval on log-log")


def bootstrap_interval(values: Sequence[float] | np.ndarray, statistic: Callable[[np.ndarray], float], *,
                       rng: np.random.Generator, n_resamples: int = 2000,
                       confidence: float = 0.95) -> Interval:
    """Percentile bootstrap interval of ``statistic`` over the first axis of ``values``."""
    data = np.asarray(values)
    if data.shape[0] < 2:
        raise ValueError("a bootstrap interval needs at least 2 independent units")
    idx = rng.integers(0, data.shape[0], size=(n_resamples, data.shape[0]))
    boot = np.array([statistic(data[i]) for i in idx])
    lo, hi = np.quantile(boot, [(1 - confidence) / 2, (1 + confidence) / 2])
    return Interval(float(lo), float(hi), confidence, f"percentile bootstrap, {n_resamples} resamples")


def binomial_interval(successes: int, trials: int, *, confidence: float = 0.95) -> Interval:
    """Clopper-Pearson (exact) interval for a binomial proportion."""
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, trials > 0; got {successes}/{trials}")
    ci = stats.binomtest(successes, trials).proportion_ci(confidence_level=confidence, method="exact")
    return Interval(float(ci.low), float(ci.high), confidence, "Clopper-Pearson")


def probability_at_least(successes: int, trials: int, p: float, *, alpha: float) -> tuple[Verdict, str]:
    """One-sided exact binomial test of P(event) >= p: REFUTED when rejected at level alpha
    (the false-failure probability when the claim holds is at most alpha)."""
    pvalue = stats.binomtest(successes, trials, p, alternative="less").pvalue
    est = successes / trials
    if pvalue < alpha:
        return Verdict.REFUTED, f"estimate {successes}/{trials} = {est:.3g} < {p:g} (p-value {pvalue:.2g} < {alpha:g})"
    return Verdict.SUPPORTED, f"estimate {successes}/{trials} = {est:.3g}, consistent with >= {p:g} (p-value {pvalue:.2g})"


def verdict_at_most(interval: Interval, bound: float) -> Verdict:
    """Claim 'quantity <= bound': SUPPORTED if the whole interval is below, REFUTED if the whole
    interval is above, else INCONCLUSIVE."""
    if interval.high <= bound:
        return Verdict.SUPPORTED
    if interval.low > bound:
        return Verdict.REFUTED
    return Verdict.INCONCLUSIVE


def verdict_at_least(interval: Interval, bound: float) -> Verdict:
    """Claim 'quantity >= bound' (mirror of ``verdict_at_most``)."""
    if interval.low >= bound:
        return Verdict.SUPPORTED
    if interval.high < bound:
        return Verdict.REFUTED
    return Verdict.INCONCLUSIVE


