"""Decision-rule statistics shared by the checks: intervals, slopes, binomial rates.

Every function states its interval's coverage; checks turn intervals into verdicts with
``verdict_at_most`` / ``verdict_at_least`` so the rule reads the same everywhere.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import stats

from .evidence import Interval, Verdict

__all__ = [
    "loglog_slope",
    "binomial_interval",
    "probability_at_least",
    "verdict_at_most",
    "verdict_at_least",
    "correlation_with_se",
    "paired_gap",
    "seed_median_interval",
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




# ---- test-point estimates with standard errors, and the seed median of them -------------------

def correlation_with_se(a: Sequence[float], b: Sequence[float]) -> tuple[float, float]:
    """Pearson correlation of two samples and its standard error from the influence function
    IF_i = u_i v_i − r (u_i² + v_i²)/2 (u, v standardised): valid for any law with finite fourth
    moments, not only Gaussian pairs. Returns (r, SE); SE is 0 when one sample is constant."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or x.size < 3:
        raise ValueError(f"need two samples of one length >= 3, got shapes {x.shape} and {y.shape}")
    sx, sy = x.std(), y.std()
    if sx == 0 or sy == 0:
        return 0.0, 0.0
    u, v = (x - x.mean()) / sx, (y - y.mean()) / sy
    r = float(np.mean(u * v))
    influence = u * v - r * (u * u + v * v) / 2
    return r, float(influence.std(ddof=1) / math.sqrt(x.size))


def paired_gap(errors: Sequence[float], reference_errors: Sequence[float]) -> tuple[float, float]:
    """Mean of (errors − reference_errors) over the same test points and its standard error:
    an unbiased estimate of E[err] − E[ref] with the common heavy tail cancelling in part."""
    diff = np.asarray(errors, dtype=np.float64) - np.asarray(reference_errors, dtype=np.float64)
    if diff.ndim != 1 or diff.size < 2:
        raise ValueError("a paired gap needs two equal-length vectors of >= 2 test-point errors")
    return float(diff.mean()), float(diff.std(ddof=1) / math.sqrt(diff.size))


def seed_median_interval(values: Sequence[float], ses: Sequence[float], z: float) -> Interval:
    """[median − z·max SE, median + z·max SE] over seeds, each seed an estimate with its test-point
    standard error: if every seed's estimate is within z·SE of its true value, the median is
    within z·max SE of the median of the true values. It covers test noise, not seed randomness
    (for that, ``checks.check_model.median_order_interval`` over many seeds)."""
    vals, errs = np.asarray(values, float), np.asarray(ses, float)
    if vals.ndim != 1 or vals.shape != errs.shape or vals.size == 0:
        raise ValueError("need one value and one standard error per seed")
    if not (np.all(np.isfinite(vals)) and np.all(errs >= 0)):
        raise ValueError("values must be finite and standard errors >= 0")
    med, half = float(np.median(vals)), z * float(errs.max())
    return Interval(med - half, med + half, None, f"seed median ± {z:.3g}·max SE over {vals.size} seeds")
