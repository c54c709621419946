"""Sample-complexity estimators with intervals: thresholds n*(d), exponents γ, data collapse.

- ``threshold_n``: n*, the smallest n from which a curve measured on a grid of n stays at (or past)
  a target, interpolated linearly in log n between the two grid points that bracket it.
- ``fit_exponent``: γ in n*(d) ∝ d^γ, the OLS slope of the seed-mean of log n* against log d,
  with two intervals over seeds: a percentile bootstrap that resamples seeds within each d (the
  runs at different d are independent), and a t-interval from the pooled within-d spread of
  log n*. The decision interval is the hull of the two: with few seeds the bootstrap alone
  under-covers, the t-interval carries the small-sample tails.
- ``collapse_score``: how well curves y(n; d) coincide when drawn against n / d^γ, as a
  function of γ (0 = perfect collapse).

Both intervals are over seeds only. They do not cover the curvature of log n* against log d that
lower-order terms and log factors cause at small d: decision rules compare γ with *bands* of
reference slopes computed on the same grid (``dimension_slope``, ``log_factor_slope``), not with
the bare asymptotic exponent.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
from scipy import optimize, stats

from .evidence import Interval

__all__ = [
    "REACHED",
    "BELOW_GRID",
    "NOT_REACHED",
    "Threshold",
    "isotonic",
    "threshold_n",
    "CensoredThresholdError",
    "ExponentFit",
    "fit_exponent",
    "dimension_slope",
    "log_factor_slope",
    "collapse_score",
    "collapse_profile",
]

REACHED = "reached"
BELOW_GRID = "below-grid"  # already reached at the first grid point: n* <= ns[0], unknown below
NOT_REACHED = "not-reached"  # not reached (for good) within the grid: n* > ns[-1]


@dataclass(frozen=True)
class Threshold:
    """n* and how it was found; ``n_star`` is nan unless ``status == 'reached'``."""

    n_star: float
    status: str
    bracket: tuple[float, float] | None = None

    @property
    def censored(self) -> bool:
        return self.status != REACHED


def isotonic(values: Sequence[float], *, increasing: bool = True) -> np.ndarray:
    """The least-squares monotone fit of ``values`` (equal weights): the estimate of a curve known
    to be monotone (an expected risk against n) from noisy points. scipy's pool adjacent
    violators (``scipy.optimize.isotonic_regression``, scipy >= 1.12)."""
    y = np.asarray(values, dtype=float)
    return optimize.isotonic_regression(y, increasing=increasing).x


def threshold_n(ns: Sequence[float], values: Sequence[float], target: float, *,
                direction: str = "increasing", monotone: bool = False) -> Threshold:
    """n*: the smallest n from which ``values`` stays at or past ``target``.

    ``direction='increasing'``: reached means value >= target (a correlation rising to rho);
    ``'decreasing'``: value <= target (a test error falling to epsilon). "Stays" means every later
    grid point is reached too, so a noisy early excursion does not count. Between the last
    unreached point and the next one, n* is interpolated linearly in (log n, value).
    ``ns`` must be positive and strictly increasing (a geometric grid is the intended use).
    ``monotone=True`` first replaces the values by their isotonic fit (``isotonic``) in the given
    direction, so one noisy point (a heavy-tailed training set) moves n* by pooling, not by a jump.
    """
    ns = np.asarray(ns, dtype=float)
    vals = np.asarray(values, dtype=float)
    if ns.ndim != 1 or ns.shape != vals.shape or ns.size < 2:
        raise ValueError(f"need two equal-length 1-D arrays of >= 2 points, got shapes {ns.shape}, {vals.shape}")
    if not (np.all(ns > 0) and np.all(np.diff(ns) > 0)):
        raise ValueError("the n grid must be positive and strictly increasing")
    if not np.all(np.isfinite(vals)):
        raise ValueError("threshold_n needs finite values (a failed run must be handled before)")
    if direction in ("increasing", "decreasing") and monotone:
        vals = isotonic(vals, increasing=direction == "increasing")
    if direction == "increasing":
        reached = vals >= target
    elif direction == "decreasing":
        reached = vals <= target
    else:
        raise ValueError(f"direction must be 'increasing' or 'decreasing', got {direction!r}")
    if not reached[-1]:
        return Threshold(math.nan, NOT_REACHED)
    unreached = np.flatnonzero(~reached)
    if unreached.size == 0:
        return Threshold(math.nan, BELOW_GRID, (0.0, float(ns[0])))
    i = int(unreached[-1])  # last unreached point; i + 1 is reached
    v0, v1 = vals[i], vals[i + 1]
    t = (target - v0) / (v1 - v0)  # v1 != v0: one is reached and the other is not
    log_n = math.log(ns[i]) + t * (math.log(ns[i + 1]) - math.log(ns[i]))
    return Threshold(float(math.exp(log_n)), REACHED, (float(ns[i]), float(ns[i + 1])))


class CensoredThresholdError(ValueError):
    """Some n* were not found inside the grid, so a fit of γ would be biased."""

    def __init__(self, censored: list[tuple[int, str]]):
        self.censored = censored
        super().__init__("thresholds censored by the grid at (d, status): "
                         + ", ".join(f"({d}, {s})" for d, s in censored))


@dataclass(frozen=True)
class ExponentFit:
    """γ with its intervals; ``decision`` is the hull of the bootstrap and t-intervals."""

    gamma: float
    intercept: float
    ds: tuple[int, ...]
    mean_log_n: tuple[float, ...]
    seeds_per_d: tuple[int, ...]
    bootstrap: Interval
    t_interval: Interval
    decision: Interval
    pooled_sd_log_n: float
    lack_of_fit_rms: float  # rms residual of the seed means about the fitted line (curvature)
    per_seed_n_star: Mapping[int, tuple[float, ...]] = field(default_factory=dict)

    def line(self, d: Sequence[float]) -> np.ndarray:
        """The fitted n*(d) = exp(intercept) d^γ."""
        return np.exp(self.intercept) * np.asarray(d, float) ** self.gamma

    def as_dict(self) -> dict:
        return {"gamma": self.gamma, "intercept": self.intercept, "ds": list(self.ds),
                "mean_log_n": list(self.mean_log_n), "seeds_per_d": list(self.seeds_per_d),
                "bootstrap": [self.bootstrap.low, self.bootstrap.high, self.bootstrap.confidence],
                "t_interval": [self.t_interval.low, self.t_interval.high, self.t_interval.confidence],
                "decision": [self.decision.low, self.decision.high, self.decision.confidence],
                "pooled_sd_log_n": self.pooled_sd_log_n, "lack_of_fit_rms": self.lack_of_fit_rms,
                "per_seed_n_star": {str(d): list(v) for d, v in self.per_seed_n_star.items()}}


def _slope(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    xc = x - x.mean()
    slope = float(np.dot(xc, y - y.mean()) / np.dot(xc, xc))
    return slope, float(y.mean() - slope * x.mean())


def fit_exponent(n_star: Mapping[int, Sequence[float] | Sequence[Threshold]], *, rng: np.random.Generator,
                 confidence: float = 0.95, n_resamples: int = 4000) -> ExponentFit:
    """γ in n*(d) ∝ d^γ from n* per d (one value per seed; seeds at different d independent).

    γ is the OLS slope of mean_seeds(log n*) on log d. Intervals at ``confidence``:
    - bootstrap: percentile interval of γ when the seeds of each d are resampled with replacement;
    - t: γ ± t_{df} · s · sqrt(Σ_d w_d² / S_d), s the pooled within-d sd of log n*, w_d the OLS
      weights, df = Σ_d (S_d − 1); valid for independent normal errors in log n*.
    Thresholds (``Threshold`` objects) are accepted; any censored one raises
    ``CensoredThresholdError`` (a fit through censored values would be biased).
    """
    if not 0 < confidence < 1:
        raise ValueError("confidence must be in (0, 1)")
    ds = sorted(int(d) for d in n_star)
    if len(ds) < 3:
        raise ValueError(f"an exponent with an interval needs >= 3 values of d, got {ds}")
    censored = []
    values: dict[int, np.ndarray] = {}
    for d in ds:
        raw = list(n_star[d])
        if not raw:
            raise ValueError(f"no n* values at d={d}")
        if isinstance(raw[0], Threshold):
            censored += [(d, t.status) for t in raw if t.censored]
            raw = [t.n_star for t in raw]
        arr = np.asarray(raw, dtype=float)
        if not censored and not (np.all(np.isfinite(arr)) and np.all(arr > 0)):
            raise ValueError(f"n* at d={d} must be positive and finite, got {arr}")
        values[d] = arr
    if censored:
        raise CensoredThresholdError(censored)
    x = np.log(np.array(ds, dtype=float))
    logs = [np.log(values[d]) for d in ds]
    means = np.array([v.mean() for v in logs])
    counts = np.array([v.size for v in logs])
    gamma, intercept = _slope(x, means)

    # t-interval from the pooled within-d spread
    df = int(np.sum(counts - 1))
    xc = x - x.mean()
    weights = xc / np.dot(xc, xc)
    if df > 0:
        pooled = math.sqrt(sum(float(np.sum((v - v.mean()) ** 2)) for v in logs) / df)
        half = stats.t.ppf(0.5 + confidence / 2, df) * pooled * math.sqrt(float(np.sum(weights ** 2 / counts)))
        t_iv = Interval(gamma - half, gamma + half, confidence,
                        f"t-interval, pooled within-d sd of log n* ({df} df)")
    else:
        pooled = math.nan
        t_iv = Interval(-math.inf, math.inf, confidence, "t-interval undefined: one seed per d")

    boot_iv = _seed_bootstrap_interval(logs, xc, gamma, rng=rng, confidence=confidence, n_resamples=n_resamples)
    decision = Interval(min(t_iv.low, boot_iv.low), max(t_iv.high, boot_iv.high), confidence,
                        "hull of the bootstrap and t-intervals")
    resid = means - (intercept + gamma * x)
    return ExponentFit(
        gamma=gamma, intercept=intercept, ds=tuple(ds), mean_log_n=tuple(float(m) for m in means),
        seeds_per_d=tuple(int(c) for c in counts), bootstrap=boot_iv, t_interval=t_iv, decision=decision,
        pooled_sd_log_n=pooled, lack_of_fit_rms=float(np.sqrt(np.mean(resid ** 2))),
        per_seed_n_star={d: tuple(float(v) for v in values[d]) for d in ds},
    )


def _seed_bootstrap_interval(logs: list[np.ndarray], xc: np.ndarray, gamma: float, *, rng: np.random.Generator,
                             confidence: float, n_resamples: int) -> Interval:
    """Stratified bootstrap of γ: the seeds of each d are resampled with replacement, each d on
    its own (``scipy.stats.bootstrap`` with one sample per d, unpaired, which is that scheme).

    Method: percentile, not BCa. With 3–6 seeds per d, BCa's acceleration comes from 3–6
    jackknife values and is itself noise, and BCa is undefined (NaN, with a warning) when the seeds
    of a d tie; the decision interval is the hull with the t-interval anyway, which covers for the
    percentile interval's under-coverage at few seeds. A d with one seed has nothing to resample:
    its mean enters as a constant (scipy needs two observations per sample).
    """
    varying = [j for j, v in enumerate(logs) if v.size >= 2]
    if not varying:
        return Interval(gamma, gamma, confidence, "percentile bootstrap degenerate: one seed per d")
    fixed_means = np.array([v.mean() for v in logs])
    denominator = float(np.dot(xc, xc))

    def slope_of_means(*samples, axis=-1):
        resampled = [np.mean(sample, axis=axis) for sample in samples]
        shape = np.shape(resampled[0])
        means = np.empty(shape + (len(logs),))
        means[...] = fixed_means
        for j, m in zip(varying, resampled):
            means[..., j] = m
        return (means - means.mean(axis=-1, keepdims=True)) @ xc / denominator

    result = stats.bootstrap([logs[j] for j in varying], slope_of_means, n_resamples=n_resamples, vectorized=True,
                             paired=False, confidence_level=confidence, method="percentile", rng=rng)
    low, high = result.confidence_interval
    return Interval(float(low), float(high), confidence,
                    f"percentile bootstrap over seeds within each d (scipy.stats.bootstrap), {n_resamples} resamples")


def _grid_slope(ds: Sequence[int], log_values: np.ndarray) -> float:
    return _slope(np.log(np.asarray(ds, float)), log_values)[0]


def dimension_slope(ds: Sequence[int], degree: int) -> float:
    """The OLS log-log slope over the grid ``ds`` of C(d+degree, degree), the number of
    polynomials of degree <= ``degree`` in d variables. It tends to ``degree`` as d grows and is
    smaller at small d: the finite-size value of "n ∝ d^degree" for a learner of that space."""
    if degree < 0:
        raise ValueError("degree must be >= 0")
    return _grid_slope(ds, np.array([math.log(math.comb(d + degree, degree)) for d in ds]))


def log_factor_slope(ds: Sequence[int], degree: int, *, log_power: float = 1.0) -> float:
    """The OLS log-log slope over ``ds`` of d^degree · (log d)^log_power: "d^degree up to a
    polylog" as a slope on this grid (degree + about log_power / log d)."""
    return _grid_slope(ds, np.array([degree * math.log(d) + log_power * math.log(math.log(d)) for d in ds]))


def collapse_score(curves: Mapping[int, tuple[Sequence[float], Sequence[float]]], gamma: float, *,
                   points: int = 64, min_overlap: float = 0.25) -> float:
    """Mismatch of the curves y(n; d) drawn against log(n / d^γ): 0 when they coincide.

    For each pair of curves, both are interpolated linearly in log(n/d^γ) on ``points`` points of
    their common range; the score is the mean squared difference over all pairs, divided by the
    variance of all y values (so it is scale free). A pair whose common range is shorter than
    ``min_overlap`` of the shorter curve's range is left out (a tiny overlap would score falsely
    well); nan if no pair is left.
    """
    keys = sorted(curves)
    if len(keys) < 2:
        raise ValueError("a collapse needs curves at >= 2 values of d")
    xs, ys = {}, {}
    for d in keys:
        n, y = (np.asarray(a, float) for a in curves[d])
        order = np.argsort(n)
        xs[d] = np.log(n[order]) - gamma * math.log(d)
        ys[d] = y[order]
    scale = float(np.var(np.concatenate([ys[d] for d in keys])))
    if scale == 0:
        return 0.0
    total, pairs = 0.0, 0
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            lo, hi = max(xs[a][0], xs[b][0]), min(xs[a][-1], xs[b][-1])
            shorter = min(xs[a][-1] - xs[a][0], xs[b][-1] - xs[b][0])
            if hi <= lo or hi - lo < min_overlap * shorter:
                continue
            grid = np.linspace(lo, hi, points)
            diff = np.interp(grid, xs[a], ys[a]) - np.interp(grid, xs[b], ys[b])
            total += float(np.mean(diff ** 2))
            pairs += 1
    return total / pairs / scale if pairs else math.nan


def collapse_profile(curves: Mapping[int, tuple[Sequence[float], Sequence[float]]],
                     gammas: Sequence[float], **kwargs) -> tuple[np.ndarray, float]:
    """(score at each γ, the γ of the best collapse) over the given γ grid."""
    scores = np.array([collapse_score(curves, g, **kwargs) for g in gammas])
    finite = np.isfinite(scores)
    if not finite.any():
        return scores, math.nan
    best = float(np.asarray(gammas, float)[finite][np.argmin(scores[finite])])
    return scores, best
