"""Theorem 1 and the kernel separation, measured: sample complexity with intervals (PAPER.md §4).

Claims checked here (each a sweep over d and n, cached by ``checks.sweep``):

- ``theorem1.sample-complexity``: the layerwise network's threshold n*(d) grows like d^k, not
  d^{kq}: k = 3 on the paper's §5 target, k = 2 on targets drawn by hypothesis.
- ``lemma1.stage1`` at scale: corr(ĝ, p) tends, as n grows, to the exact corr(P_{<=k} h, p).
- ``kernel.lower-bound`` (measured side): at n = C·d^k kernel ridge and random features stay at
  or above the exact plateau ||P_{>k} h||²/Var h while the network goes below it; and, for
  k = q = 2, the kernel's own exponent is measured against kq = 4.
- ``theorem1.stage2``: with the feature given (ĝ = p), the n2 stage 2 needs does not grow with d.
- ``corollary.quadratic``: for quadratic features, stage 1 trained to convergence needs ≈ d²
  samples; one gradient step needs ≈ d⁴ (the comparison with Nichani, Damian, Lee 2023).

What is measured, and why so (PAPER.md §7 traps):

- n*(d), the network: the smallest n1 from which the relative stage-1 error
  ||ĝ − P_{<=k} h||²/||P_{<=k} h||² stays <= EPSILON_STAGE1, with P_{<=k} h exact from ``theory``
  (corr(ĝ, p) is drawn beside it, against its exact limit corr(P_{<=k} h, p), not 1: at small d
  P_{<=k} h carries lower-degree parts). Stage 1 is the closed-form ridge on m1 = 2·C(d+k, k) features σ1 = h_k (width beyond
  C(d+k, k) adds cost, not power), with the Gram ridge ΦᵀΦ + GRAM_RIDGE·C(d+k, k)·I (a ridge ξ1
  that falls like 1/n1, so the n → ∞ limit is the least-squares one, P_{<=k} h).
- γ: OLS slope of log n* on log d with the hull of a bootstrap over seeds and a pooled t-interval
  (``checks.estimators.fit_exponent``), at confidence 1 − 2·RECORD_BUDGET. Small-d bias: a
  learner of the degree-<=k polynomials needs n ∝ C(d+k, k), whose slope on d in 6..12 is 2.4
  for k = 3. So γ is compared with bands computed on the grid (``degree_band``), not with k.
- Test errors against the plateau are paired: on the same test points, the squared error of the
  method minus that of the exact P_{<=l} h, whose mean is (risk − plateau) without the heavy-tail
  bias that a test-set estimate of either has (at d = 12 E p⁶ is far from Gaussian).

Sizes come from ``checks/tiers.py`` (area ``theorem1``). Run seeds are derived from the base seed
only, so the checks share their runs through the cache. The device is not part of a run's key:
a run is the same experiment on either device (results agree to float64 rounding).
"""
from __future__ import annotations

import functools
import json
import math
from collections import OrderedDict
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import sympy
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from checks.audit import claim_check
from checks.estimators import (CensoredThresholdError, ExponentFit, Threshold, collapse_profile,
                               dimension_slope, fit_exponent, log_factor_slope, threshold_n)
from checks.evidence import Interval, Verdict, combine
from checks.registry import get_claim
from checks.report import figure, series
from checks.seeds import derive_seed, numpy_generator
from checks.sweep import Run, SweepResults, canonical_json, run_sweep

__all__ = [
    "RECORD_BUDGET", "EPSILON_STAGE1", "PRE_ASYMPTOTIC_MOMENT", "GRAM_RIDGE", "KERNEL_LEVEL", "STAGE2_EPSILON", "STAGE2_MAX_GROWTH",
    "Band", "degree_band", "decision_confidence", "exponent_verdict", "one_sided_z", "LimitFit", "limit_fit",
    "limit_verdict", "pre_asymptotic", "stage1_limit_verdict", "plateau_allowance", "kernel_plateau_verdict", "network_below_verdict", "growth_verdict",
    "target_spec", "build_target", "recipe_spec", "section5_spec", "execute",
]

# ---- constants of the decision rules (fixed before any run) -------------------------------------

# False-failure budget of each gating record of these checks (a union bound over the run's records
# must stay under the harness's 1e-2 limit; these checks record about a dozen).
RECORD_BUDGET = 2e-4
# "stage 1 has learned P_{<=k} h": its relative error ||ĝ − P_{<=k} h||² / ||P_{<=k} h||² (test points,
# P_{<=k} h exact from theory) is at most EPSILON_STAGE1. This curve falls monotonically (least
# squares), whatever the sign of E[g'], unlike corr(ĝ, p), which ridge shrinkage can push above
# its limit at small n.
EPSILON_STAGE1 = 0.25
# Exponents of least squares are decided only where the feature's law is near its Gaussian limit:
# E p⁶ <= PRE_ASYMPTOTIC_MOMENT × 15 on every d of the grid. Above it the heavy tails dominate the
# least-squares constant and shrink with d (the §5 feature: E p⁶ = 491 at d = 12, 162 at d = 24),
# so n*/C(d+k, k) falls with d and the slope on the grid says nothing about d^k; γ is reported,
# not decided.
PRE_ASYMPTOTIC_MOMENT = 4
# Stage-1 ridge: ΦᵀΦ + GRAM_RIDGE·C(d+k, k)·I, i.e. ξ1 = GRAM_RIDGE·C(d+k, k)/n1.
GRAM_RIDGE = 1e-2
# The kernel's threshold: its risk reaches KERNEL_LEVEL × its plateau (it has learned a quarter of
# the degree-kq part). Any fixed level gives n* ∝ d^{kq} asymptotically; 0.75 keeps the kernel's
# n* below 2·C(d+kq, kq), where an n×n solve is affordable on a CPU.
KERNEL_LEVEL = 0.75
# Stage 2 with the feature given: n2* is where the normalised test error reaches STAGE2_EPSILON;
# "does not grow with d" means its growth exponent is at most STAGE2_MAX_GROWTH (a polylog on
# d in [8, 512] has slope about 1/log d per log factor, below 1/2; any power >= 1/2 is growth).
STAGE2_EPSILON = 0.1
STAGE2_MAX_GROWTH = 0.5
# A limit is "pinned" when its interval is at most this wide on either side (correlation units).
LIMIT_RESOLUTION = 0.05
CODE_VERSION = "theorem1-runs/1"
AREA = "theorem1"


# ==== decision rules (plain functions; tests/test_theorem1_rules.py plants wrong claims) ==========

def decision_confidence(budget: float = RECORD_BUDGET) -> float:
    """Two-sided confidence whose one-sided miss probability is ``budget``: a REFUTED verdict
    needs the interval wholly on one side, so a true value is refuted with probability <= budget."""
    if not 0 < budget < 0.5:
        raise ValueError(f"a false-failure budget must be in (0, 0.5), got {budget}")
    return 1 - 2 * budget


def one_sided_z(budget: float, comparisons: int = 1) -> float:
    """Normal quantile z with P(Z > z) = budget / comparisons (Bonferroni)."""
    if not 0 < budget < 1 or comparisons < 1:
        raise ValueError(f"need a budget in (0, 1) and >= 1 comparison, got {budget}, {comparisons}")
    return float(stats.norm.isf(budget / comparisons))


@dataclass(frozen=True)
class Band:
    """A range of log-log slopes that all read as one exponent on a given grid."""

    low: float
    high: float
    label: str

    def __post_init__(self) -> None:
        if not self.low <= self.high:
            raise ValueError(f"band {self.label}: low {self.low} > high {self.high}")

    def meets(self, interval: Interval) -> bool:
        return interval.low <= self.high and interval.high >= self.low

    def __str__(self) -> str:
        return f"{self.label} [{self.low:.3g}, {self.high:.3g}]"


def degree_band(ds: Sequence[int], degree: int, *, log_power: float = 1.0) -> Band:
    """Slopes that read as "n ∝ d^degree" on the grid ``ds``.

    Low edge: halfway between the grid slopes of C(d+degree−1, degree−1) and C(d+degree, degree),
    the sizes of the polynomial spaces a learner of degree degree−1 and degree must fit (the
    finite-size values of d^{degree−1} and d^degree): a slope above it is closer to degree than to
    degree − 1. High edge: the grid slope of d^degree·(log d)^log_power (degree up to a polylog).
    """
    low = (dimension_slope(ds, degree - 1) + dimension_slope(ds, degree)) / 2
    high = log_factor_slope(ds, degree, log_power=log_power)
    return Band(min(low, high), max(low, high), f"d^{degree}")


def exponent_verdict(interval: Interval, *, claimed: Band, alternative: Band) -> tuple[Verdict, str]:
    """Is γ (its interval) the claimed exponent rather than the alternative?

    REFUTED if the interval misses the claimed band; SUPPORTED if it meets the claimed band and
    misses the alternative; INCONCLUSIVE if it meets both. A true γ inside the claimed band is
    refuted only when the interval misses it on one side: probability <= (1 − coverage)/2.
    """
    if not claimed.meets(interval):
        side = "above" if interval.low > claimed.high else "below"
        return Verdict.REFUTED, f"γ in {interval} lies {side} the band {claimed}"
    if alternative.meets(interval):
        return Verdict.INCONCLUSIVE, f"γ in {interval} meets both {claimed} and {alternative}"
    return Verdict.SUPPORTED, f"γ in {interval} meets {claimed}, excludes {alternative}"


@dataclass(frozen=True)
class LimitFit:
    """The n → ∞ limit of a curve y(n) ≈ y∞ + β·(D/n), fitted over seeds."""

    limit: float
    interval: Interval
    residual_sd: float
    points: int
    coefficients: tuple[float, ...]


def limit_fit(ns: Sequence[float], values: Sequence[float], *, scale: float, confidence: float) -> LimitFit:
    """OLS of values on (1, D/n), D = ``scale``; the intercept is the limit, with a t-interval
    (df = points − 2), valid for independent normal errors about that line.

    ``ns`` and ``values`` are flat (one entry per run, all seeds together). The 1/n law is that of
    least squares once its error is a small perturbation (``stage1_limit_verdict`` checks that
    first); the next term, of relative size the error itself, is left out.
    """
    n = np.asarray(ns, float)
    y = np.asarray(values, float)
    if n.shape != y.shape or n.ndim != 1 or n.size < 5:
        raise ValueError(f"a limit fit needs >= 5 (n, value) pairs, got {n.size}")
    if not (np.all(n > 0) and np.all(np.isfinite(y))):
        raise ValueError("a limit fit needs n > 0 and finite values")
    t = scale / n
    X = np.column_stack([np.ones_like(t), t])
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    df = n.size - 2
    sigma = math.sqrt(float(resid @ resid) / df)
    cov = sigma ** 2 * np.linalg.pinv(X.T @ X)
    half = float(stats.t.ppf(0.5 + confidence / 2, df)) * math.sqrt(max(float(cov[0, 0]), 0.0))
    iv = Interval(float(coef[0] - half), float(coef[0] + half), confidence,
                  f"t-interval of the intercept of y ~ 1 + D/n ({df} df)")
    return LimitFit(float(coef[0]), iv, sigma, int(n.size), tuple(float(c) for c in coef))


def limit_verdict(fit: LimitFit, *, exact: float, resolution: float = LIMIT_RESOLUTION) -> tuple[Verdict, str]:
    """Does the curve tend to the exact limit?

    REFUTED if the interval for the limit excludes ``exact``; SUPPORTED if it contains it and is
    at most ``2·resolution`` wide (a limit off by more than that would have been excluded);
    INCONCLUSIVE if it contains it but is too wide to tell.
    """
    iv = fit.interval
    if not iv.contains(exact):
        return Verdict.REFUTED, f"limit in {iv} excludes the exact {exact:.4g}"
    if iv.high - iv.low > 2 * resolution:
        return Verdict.INCONCLUSIVE, f"limit in {iv} contains {exact:.4g} but is wider than 2×{resolution:g}"
    return Verdict.SUPPORTED, f"limit in {iv} contains the exact {exact:.4g}"


# lemma1 at scale: the extrapolation is trusted once the median relative stage-1 error
# ||ĝ − P_{<=k} h||² / ||P_{<=k} h||² at the largest n1 is at most this (a small perturbation: the
# 1/n law of least squares holds); above it the curve has not approached its limit yet.
ASYMPTOTIC_REGIME = 0.1


def pre_asymptotic(moments6: Mapping[int, float]) -> list[int]:
    """The d of a grid where E p⁶ exceeds PRE_ASYMPTOTIC_MOMENT × 15 (its Gaussian value)."""
    return sorted(d for d, m in moments6.items() if m > PRE_ASYMPTOTIC_MOMENT * 15)


def stage1_limit_verdict(fit: LimitFit, *, exact: float, relative_error_at_top: float,
                         regime: float = ASYMPTOTIC_REGIME) -> tuple[Verdict, str]:
    """lemma1.stage1 at scale: INCONCLUSIVE while the median relative stage-1 error at the largest
    n1 exceeds ``regime`` (the curve is still far from its limit, the extrapolation would be a
    guess); otherwise the extrapolated limit decides (``limit_verdict``)."""
    if not relative_error_at_top <= regime:
        return Verdict.INCONCLUSIVE, (f"median ||ĝ−P≤k h||²/||P≤k h||² = {relative_error_at_top:.3g} > {regime:g} "
                                      "at the largest n1: not in the 1/n regime yet")
    return limit_verdict(fit, exact=exact)


def plateau_allowance(shares_above: Mapping[int, float], *, n: int, d: int) -> float:
    """What a rotation-invariant method with n samples captures above degree l, on average at
    most: Σ_{j>l} share_j · min(1, n / N_j(d)), N_j = C(d+j−1, j) the dimension of the degree-j
    Hermite space, share_j = ||P_j h||²/Var h.

    Reason: kernel ridge and random-features ridge are linear smoothers, so their degree-j part lies
    in the span of n functions P_j k(·, x_i); for isotropic x_i and a rotation-invariant k the law
    of that span commutes with rotations, and by Schur's lemma it captures on average
    (n / dimension) of a fixed function of an irreducible part. Treating degree j as one part
    (its radial pieces are small here) makes this a finite-n correction of the asymptotic bound,
    not a theorem; it vanishes as d grows at n = C·d^l.
    """
    total = 0.0
    for j, share in shares_above.items():
        if j < 1 or share < 0:
            raise ValueError(f"need degrees j >= 1 with shares >= 0, got {j}: {share}")
        total += share * min(1.0, n / math.comb(d + j - 1, j))
    return total


def kernel_plateau_verdict(gaps: Sequence[float], ses: Sequence[float], *, allowance: float,
                           z: float) -> tuple[Verdict, str]:
    """Does a kernel method stay at or above its plateau? Per seed: the paired estimate of
    (risk − plateau), normalised by Var h, and its standard error.

    REFUTED if some seed is below the plateau by more than ``allowance`` with significance z
    (gap + z·se < −allowance); SUPPORTED otherwise (being at the plateau is allowed).
    """
    g, s = np.asarray(gaps, float), np.asarray(ses, float)
    if g.shape != s.shape or g.size == 0:
        raise ValueError("need one gap and one standard error per seed")
    upper = g + z * s
    worst = int(np.argmin(upper))
    if upper[worst] < -allowance:
        return Verdict.REFUTED, (f"risk − plateau ≤ {upper[worst]:+.3g} < −{allowance:.3g} (allowance): "
                                 "below its plateau")
    return Verdict.SUPPORTED, f"risk − plateau ≥ {float(g.min()):+.3g} (+{z:.2f}·se ≥ −{allowance:.3g})"


def network_below_verdict(gaps: Sequence[float], ses: Sequence[float], *, z: float) -> tuple[Verdict, str]:
    """Does the network go below the plateau? SUPPORTED if every seed has gap + z·se < 0; REFUTED if
    every seed has gap − z·se >= 0 (significantly at or above it); INCONCLUSIVE otherwise."""
    g, s = np.asarray(gaps, float), np.asarray(ses, float)
    if g.shape != s.shape or g.size == 0:
        raise ValueError("need one gap and one standard error per seed")
    if np.all(g + z * s < 0):
        return Verdict.SUPPORTED, f"network risk − plateau ≤ {float((g + z * s).max()):+.3g} < 0 on every seed"
    if np.all(g - z * s >= 0):
        return Verdict.REFUTED, f"network risk − plateau ≥ {float((g - z * s).min()):+.3g} ≥ 0 on every seed"
    return Verdict.INCONCLUSIVE, f"network risk − plateau in [{float(g.min()):+.3g}, {float(g.max()):+.3g}]"


def growth_verdict(interval: Interval, *, max_exponent: float = STAGE2_MAX_GROWTH) -> tuple[Verdict, str]:
    """Does n*(d) grow no faster than d^max_exponent? SUPPORTED if the interval is at or below it,
    REFUTED if wholly above it, INCONCLUSIVE otherwise."""
    if interval.high <= max_exponent:
        return Verdict.SUPPORTED, f"growth exponent in {interval} ≤ {max_exponent:g}"
    if interval.low > max_exponent:
        return Verdict.REFUTED, f"growth exponent in {interval} > {max_exponent:g}: it grows with d"
    return Verdict.INCONCLUSIVE, f"growth exponent in {interval} straddles {max_exponent:g}"


# ==== targets as plain data ============================================================================

def _exact_text(value) -> str:
    value = sympy.nsimplify(value) if isinstance(value, float) else sympy.sympify(value)
    return str(value)


def target_spec(target) -> dict[str, Any]:
    """Plain-data description of a ``theory.features.HierarchicalTarget`` on coordinate blocks
    (or a quadratic feature): enough to rebuild it exactly (``build_target``), to key the cache
    and to replay a failure."""
    from theory.features import BlockFeature, QuadraticFeature

    f, g = target.feature, target.link
    link = [_exact_text(c) for c in g.coefficients]
    if isinstance(f, BlockFeature) and f.coordinates is not None:
        return {"family": "blocks", "d": f.d, "k": f.k,
                "psi": [[list(b), str(c)] for b, c in f.psi.terms], "psi_name": f.psi.name,
                "coordinates": f.coordinates.tolist(), "lam": [_exact_text(v) for v in f.weights.values],
                "link": link}
    if isinstance(f, QuadraticFeature):
        return {"family": "quadratic", "d": f.d, "k": 2,
                "A": [[str(Fraction(int(v), f._denominator)) for v in row] for row in f._int_matrix.tolist()],
                "link": link}
    raise TypeError(f"target_spec supports coordinate-block and quadratic features, got {f!r}")


@functools.lru_cache(maxsize=64)
def _build_cached(text: str):
    from theory.features import BlockFeature, HierarchicalTarget, Link, QuadraticFeature, Weights
    from theory.hermite import Z
    from theory.structured import BlockType

    spec = json.loads(text)
    link = Link(sum((sympy.sympify(c) * Z ** m for m, c in enumerate(spec["link"])), sympy.Integer(0)))
    if spec["family"] == "blocks":
        psi = BlockType({tuple(b): Fraction(c) for b, c in spec["psi"]}, name=spec["psi_name"])
        lam = [sympy.sympify(v) for v in spec["lam"]]
        weights = Weights.from_signs(np.array([int(v) for v in lam])) if all(v in (1, -1) for v in lam) else Weights(lam)
        feature = BlockFeature(psi, weights, d=spec["d"], coordinates=np.array(spec["coordinates"], dtype=np.int64))
    elif spec["family"] == "quadratic":
        feature = QuadraticFeature([[Fraction(v) for v in row] for row in spec["A"]])
    else:
        raise ValueError(f"unknown target family {spec['family']!r}")
    return HierarchicalTarget(feature, link)


def build_target(spec: Mapping[str, Any]):
    """The ``HierarchicalTarget`` a spec describes (memoised per process)."""
    return _build_cached(canonical_json(dict(spec)))


def section5_spec(d: int, *, seed: int) -> dict[str, Any]:
    """The §5 target at d (p = Σ λ_i h_3(x_i)/√d, random signs, g = C_d z³ with E h² = 1); the
    signs come from a generator derived from ``seed`` and d."""
    from theory.features import section5_target

    return target_spec(section5_target(d, rng=numpy_generator(derive_seed(seed, f"section5-signs/{d}"))))


def recipe_spec(recipe: Mapping[str, Any], d: int) -> dict[str, Any]:
    """A target family drawn once (``recipe``) instantiated at dimension d: ψ on consecutive
    coordinate blocks, L = ⌊d / m⌋ blocks of m local variables, p = L^{-1/2} Σ λ_i ψ(x_{S_i}) / ||ψ||.

    recipe: ``psi`` (He-terms [[multi-index, "coefficient"], ...] of a ``BlockType``) and
    ``psi_name``, ``k``, ``link`` (monomial coefficients c_0..c_q of g, exact strings), and either
    ``signs_seed`` (λ_i = ±1 drawn per d from it) or ``signs = "alternating"`` (λ_i = (−1)^i).
    """
    from theory.features import BlockFeature, HierarchicalTarget, Link, Weights
    from theory.hermite import Z
    from theory.structured import BlockType

    psi = BlockType({tuple(b): Fraction(c) for b, c in recipe["psi"]}, name=recipe["psi_name"])
    L = d // psi.local_dim
    if L < 1:
        raise ValueError(f"d = {d} is too small for blocks of {psi.local_dim} coordinates")
    if recipe.get("signs") == "alternating":
        signs = np.array([(-1) ** i for i in range(L)])
    else:
        signs = numpy_generator(derive_seed(int(recipe["signs_seed"]), f"signs/{d}")).choice(np.array([-1, 1]), size=L)
    feature = BlockFeature.coordinate(psi, Weights.from_signs(signs), d=d, k=int(recipe["k"]))
    link = Link(sum((sympy.Rational(c) * Z ** m for m, c in enumerate(recipe["link"])), sympy.Integer(0)))
    return target_spec(HierarchicalTarget(feature, link))


# ==== runs ================================================================================================

@dataclass
class _TestSet:
    x: torch.Tensor
    h: torch.Tensor
    p: torch.Tensor
    projection: dict[int, torch.Tensor]
    variance: float


_TEST_SETS: "OrderedDict[tuple, _TestSet]" = OrderedDict()


def _test_set(spec: Mapping[str, Any], *, seed: int, n_test: int, degrees: Sequence[int], device) -> _TestSet:
    """Fresh test points for (target, seed, d), shared by every n and method of that seed (so
    curves against n and comparisons between methods are paired); memoised per process."""
    key = (canonical_json(dict(spec)), seed, n_test, tuple(sorted(set(degrees))), str(device))
    if key in _TEST_SETS:
        _TEST_SETS.move_to_end(key)
        return _TEST_SETS[key]
    from model.data import evaluate_on, sample_inputs
    from model.metrics import projection_values, target_variance

    target = build_target(spec)
    gen = torch.Generator().manual_seed(derive_seed(seed, f"test-set/{spec['d']}"))
    x = sample_inputs(n_test, spec["d"], generator=gen).to(device)
    ts = _TestSet(x=x, h=evaluate_on(target, x), p=evaluate_on(target.feature, x),
                  projection={j: projection_values(target, x, max_degree=j) for j in sorted(set(degrees))},
                  variance=target_variance(target))
    _TEST_SETS[key] = ts
    while len(_TEST_SETS) > 48:
        _TEST_SETS.popitem(last=False)
    return ts


def _estimate(values: torch.Tensor, scale: float) -> dict[str, float]:
    from model.metrics import mean_estimate

    return mean_estimate(values).scaled(scale).as_dict()


def _risk_metrics(prediction: torch.Tensor, ts: _TestSet, plateau_degree: int | None) -> dict[str, Any]:
    """Normalised test MSE and, when a plateau degree is given, the paired (risk − plateau)."""
    err = (prediction.to(torch.float64) - ts.h).square()
    out: dict[str, Any] = {"test_mse": _estimate(err, 1 / ts.variance)}
    if plateau_degree is not None:
        reference = (ts.projection[plateau_degree] - ts.h).square()
        out["plateau_gap"] = _estimate(err - reference, 1 / ts.variance)
    return out


def _chunked_predict(predict: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    return torch.cat([predict(x[i:i + chunk]) for i in range(0, x.shape[0], chunk)])


def execute(run: Run, *, device: str | torch.device = "cpu") -> dict[str, Any]:
    """One run of a sweep (the sweep runner). ``run.config`` holds the target spec and the method's
    settings; see the ``*_runs`` builders below for each method's keys."""
    from model.data import make_dataset
    from model.metrics import correlation

    cfg = run.config
    spec = cfg["target"]
    target = build_target(spec)
    k = int(spec["k"])
    plateau_degree = cfg.get("plateau_degree")
    degrees = ([] if run.method == "stage2-given" else [k]) + ([plateau_degree] if plateau_degree is not None else [])
    ts = _test_set(spec, seed=run.seed, n_test=cfg["n_test"], degrees=degrees, device=device)
    gen = torch.Generator().manual_seed(run.seed)
    out: dict[str, Any] = {}
    with torch.no_grad():
        if run.method in ("layerwise", "stage1"):
            from model.layerwise import train_layerwise

            n2 = int(cfg.get("n2", 0)) if run.method == "layerwise" else 0
            model, info = train_layerwise(target, d=run.d, n1=run.n, n2=n2, m1=cfg["m1"], m2=cfg["m2"],
                                          ridge1=cfg["gram_ridge"] / run.n, ridge2=cfg["ridge2"], generator=gen,
                                          sigma1="hermite", device=device)
            g_hat = model.feature(ts.x)
            out["corr"] = correlation(g_hat, ts.p)
            out["projection_error"] = _estimate((g_hat - ts.projection[k]).square(), 1 / ts.variance)
            if n2 > 0:
                out.update(_risk_metrics(model(ts.x), ts, plateau_degree))
            out["seconds"] = info["seconds"]
        elif run.method == "one-step":
            from model.baselines import hermite_features, hermite_multi_indices

            alphas = hermite_multi_indices(run.d, k)
            data = make_dataset(target, run.n, d=run.d, generator=gen, device=device)
            coefficients = torch.zeros(alphas.shape[0], dtype=torch.float64, device=device)
            for i in range(0, run.n, 8192):
                coefficients += hermite_features(data.x[i:i + 8192], k, alphas=alphas).T @ data.y[i:i + 8192]
            coefficients /= run.n
            g_hat = _chunked_predict(lambda z: hermite_features(z, k, alphas=alphas) @ coefficients, ts.x)
            out["corr"] = correlation(g_hat, ts.p)
            out["projection_error"] = _estimate((g_hat - ts.projection[k]).square(), 1 / ts.variance)
        elif run.method == "kernel":
            from model.baselines import fit_kernel_ridge

            data = make_dataset(target, run.n, d=run.d, generator=gen, device=device)
            model, info = fit_kernel_ridge(data.x, data.y, kernel=cfg["kernel"], ridge=cfg["ridge"], **cfg["kernel_params"])
            out.update(_risk_metrics(_chunked_predict(model.predict, ts.x), ts, plateau_degree))
            out["seconds"] = info["seconds"]
        elif run.method == "random-features":
            from model.baselines import fit_random_features

            data = make_dataset(target, run.n, d=run.d, generator=gen, device=device)
            model, info = fit_random_features(data.x, data.y, width=cfg["width"], ridge=cfg["ridge"], generator=gen)
            out.update(_risk_metrics(_chunked_predict(model.predict, ts.x), ts, plateau_degree))
        elif run.method == "stage2-given":
            from model.layerwise import ridge_solve
            from model.network import init_three_layer

            net = init_three_layer(run.d, 1, cfg["m2"], generator=gen, k=1, device=device)
            data = make_dataset(target, run.n, d=run.d, generator=gen, device=device)
            p_train = target.feature.evaluate(data.x)
            c, _ = ridge_solve(net.link_features(p_train), data.y - p_train, cfg["ridge2"])
            prediction = net.link_features(ts.p) @ c + ts.p
            out.update(_risk_metrics(prediction, ts, None))
        else:
            raise ValueError(f"unknown method {run.method!r}")
    out["device"] = str(device)
    return out


def _runner(device) -> Callable[[Run], dict]:
    return functools.partial(execute, device=str(device))


def replicate_seeds(base_seed: int, count: int) -> list[int]:
    """Run seeds shared by every check of this module (derived from the base seed only)."""
    return [derive_seed(base_seed, f"theorem1/replicate/{r}") for r in range(count)]


def dim(d: int, k: int) -> int:
    """C(d+k, k), the number of polynomials of degree <= k in d variables."""
    return math.comb(d + k, k)


def network_runs(specs: Mapping[int, Mapping[str, Any]], *, multiples: Sequence[float], seeds: Sequence[int],
                 sizes: Mapping[str, Any], method: str = "layerwise", plateau_degree: int | None = None) -> list[Run]:
    """Layerwise runs at n1 = multiple·C(d+k, k) for each d of ``specs`` (d -> target spec)."""
    runs = []
    for d, spec in specs.items():
        D = dim(d, spec["k"])
        cfg = {"target": dict(spec), "n_test": sizes["n_test"], "m1": 2 * D, "m2": sizes["m2"],
               "gram_ridge": GRAM_RIDGE * D, "ridge2": sizes["ridge2"]}
        if method == "layerwise":
            cfg.update({"n2": sizes["n2"], "plateau_degree": spec["k"] if plateau_degree is None else plateau_degree})
        for multiple in multiples:
            for s in seeds:
                runs.append(Run(method=method, d=d, n=max(2, int(round(multiple * D))), seed=s, config=cfg))
    return runs


# ==== analysis helpers ======================================================================================

def _curves(results: SweepResults, value: Callable[[Mapping[str, Any]], float]) -> dict[int, dict[int, tuple[np.ndarray, np.ndarray]]]:
    """d -> seed -> (n ascending, value at each n)."""
    out: dict[int, dict[int, list]] = {}
    for row in results.rows():
        out.setdefault(row["d"], {}).setdefault(row["seed"], []).append((row["n"], value(row)))
    return {d: {s: (np.array([a for a, _ in sorted(v)], float), np.array([b for _, b in sorted(v)], float))
                for s, v in by_seed.items()} for d, by_seed in sorted(out.items())}


def _thresholds(curves, targets: Mapping[int, float], direction: str) -> dict[int, list[Threshold]]:
    return {d: [threshold_n(ns, vals, targets[d], direction=direction, monotone=True) for ns, vals in by_seed.values()]
            for d, by_seed in curves.items()}


def _median_band(by_seed: Mapping[int, tuple[np.ndarray, np.ndarray]]):
    ns = next(iter(by_seed.values()))[0]
    stack = np.vstack([v for _, v in by_seed.values()])
    return ns, np.median(stack, 0), stack.min(0), stack.max(0)


def _curve_figure(name, title, ylabel, curves, *, scale: Mapping[int, float] | None = None, guide=None,
                  yscale="linear", xlabel="n1 (stage-1 samples)"):
    out = []
    for d, by_seed in curves.items():
        ns, med, lo, hi = _median_band(by_seed)
        f = 1.0 if scale is None else scale[d]
        out.append(series(f"d={d}", ns, med / f, low=lo / f, high=hi / f))
    if guide is not None:
        out.append(guide)
    return figure(name, title=title, xlabel=xlabel, ylabel=ylabel, series_list=out, xscale="log", yscale=yscale)


def _exponent_figure(name, title, fits: Mapping[str, ExponentFit], guides: Mapping[str, float]):
    out = []
    for label, fit in fits.items():
        ds = np.array(fit.ds, float)
        per_d = np.exp(np.array(fit.mean_log_n))
        out.append(series(f"{label}: n*(d) (geometric mean over seeds)", ds, per_d, style="points"))
        out.append(series(f"{label}: fit γ={fit.gamma:.2f}", ds, fit.line(ds)))
    first = next(iter(fits.values()))
    ds = np.array(first.ds, float)
    anchor = math.exp(first.mean_log_n[0])
    for label, slope in guides.items():
        out.append(series(label, ds, anchor * (ds / ds[0]) ** slope, style="guide"))
    return figure(name, title=title, xlabel="d", ylabel="n*", series_list=out, xscale="log", yscale="log")


def _collapse_figures(name, curves, scale: Mapping[int, float], k: int, kq: int):
    """Collapse score against γ (median curves y = corr/ρ against n/d^γ) and the collapsed curves."""
    medians = {d: _median_band(by_seed)[:2] for d, by_seed in curves.items()}
    medians = {d: (ns, med / scale[d]) for d, (ns, med) in medians.items()}
    gammas = np.linspace(0.0, max(kq, k + 2) + 0.5, 4 * (max(kq, k + 2)) + 3)
    scores, best = collapse_profile(medians, gammas)
    finite = np.isfinite(scores)
    fig_score = figure(f"{name}-collapse-score", title="data collapse: mismatch of the curves against n/d^γ",
                       xlabel="γ", ylabel="collapse score (0 = curves coincide)",
                       series_list=[series("score", gammas[finite], scores[finite]),
                                    series(f"k={k}", [k, k], [0, float(np.nanmax(scores))], style="guide"),
                                    series(f"kq={kq}", [kq, kq], [0, float(np.nanmax(scores))], style="guide")])
    g = best if math.isfinite(best) else float(k)
    fig_curves = figure(f"{name}-collapsed", title=f"curves against n1/d^γ at the best collapse γ={g:.2f}",
                        xlabel=f"n1 / d^{g:.2f}", ylabel="corr(ĝ,p) / ρ(d)", xscale="log",
                        series_list=[series(f"d={d}", ns / d ** g, y) for d, (ns, y) in medians.items()])
    return best, [fig_score, fig_curves]


def _fit_or_none(thresholds, rng, confidence):
    try:
        return fit_exponent(thresholds, rng=rng, confidence=confidence), None
    except CensoredThresholdError as err:
        return None, str(err)


# ==== the checks ============================================================================================

def _multiples(sizes, k: int) -> list[float]:
    return list(sizes["k3_multiples"] if k == 3 else sizes["multiples"])


def _hypothesis_settings(tier) -> settings:
    return settings(max_examples=tier.sizes(AREA)["hypothesis_examples"], deadline=None, derandomize=True,
                    database=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _k2_recipes():
    """Hypothesis strategy for k = 2 target families (see ``recipe_spec``), from the project's
    strategies: ψ = h_2, the product of two coordinates, or a general homogeneous quadratic block
    (``checks.strategies.block_types``); g of degree q in {2, 3} with E g = 0, E g' != 0
    (``checks.strategies.links``); a seed for the signs λ_i = ±1."""
    from checks.strategies import block_types, links

    return st.fixed_dictionaries({
        "psi": block_types(k=2).map(lambda psi: [[list(b), str(c)] for b, c in psi.terms]),
        "psi_name": st.just("drawn ψ"),
        "k": st.just(2),
        "link": links(min_degree=2, max_degree=3).map(lambda g: [str(c) for c in g.coefficients]),
        "signs_seed": st.integers(0, 2 ** 32 - 1),
    })


def _relative_error_curves(results: SweepResults, targets) -> dict:
    """d -> seed -> (n, ||ĝ − P≤k h||² / ||P≤k h||²) (the test-point estimate, over the exact scale)."""
    share = {d: _stage1_share(t) for d, t in targets.items()}
    return _curves(results, lambda r: r["projection_error"]["mean"] / share[r["d"]])


def _stage1_share(target) -> float:
    """||P≤k h||² / Var h, exact (the scale of the stage-1 error)."""
    k = target.k
    return float(sum(target.degree_energy(j) for j in range(k + 1)) / (target.norm2() - target.mean() ** 2))


@dataclass
class _ExponentOutcome:
    verdict: Verdict
    why: str
    key: str
    fit: ExponentFit | None
    measured: dict


def _stage1_exponent(results: SweepResults, targets, *, claimed: Band, alternative: Band, rng, confidence,
                     label: str) -> _ExponentOutcome:
    """n*(d) from the relative stage-1 error (≤ EPSILON_STAGE1), its γ, and the exponent verdict,
    INCONCLUSIVE where thresholds are censored or the feature is pre-asymptotic (``pre_asymptotic``)."""
    ds = sorted(targets)
    error = _relative_error_curves(results, targets)
    fit, censored = _fit_or_none(_thresholds(error, {d: EPSILON_STAGE1 for d in ds}, "decreasing"), rng, confidence)
    moments = {d: float(t.feature.moment(6)) for d, t in targets.items()}
    heavy = pre_asymptotic(moments)
    measured = {"E_p6": moments, "bands": {"claimed": [claimed.low, claimed.high],
                                           "alternative": [alternative.low, alternative.high]}}
    if fit is None:
        return _ExponentOutcome(Verdict.INCONCLUSIVE, f"thresholds censored by the n grid: {censored}",
                                f"{label}: n* censored by the grid", None, {**measured, "censored": censored})
    measured.update({"gamma": fit.gamma, "fit": fit.as_dict()})
    verdict, why = exponent_verdict(fit.decision, claimed=claimed, alternative=alternative)
    key = f"{label}: γ={fit.gamma:.2f} {fit.decision} vs {claimed}, {alternative}"
    if heavy:
        why = (f"pre-asymptotic: E p⁶ > {PRE_ASYMPTOTIC_MOMENT}×15 at d={heavy} "
               f"({', '.join(f'{moments[d]:.0f}' for d in heavy)}); the rule would say {verdict.value} ({why})")
        verdict = Verdict.INCONCLUSIVE
        key = f"{key} — not decided: E p⁶ ≫ 15 (pre-asymptotic)"
    return _ExponentOutcome(verdict, why, key, fit, measured)


_EXPONENT_RULE = (f"n*(d) = smallest n from which the isotonic fit of ||ĝ − P≤k h||²/||P≤k h||² (test points, "
                  f"P≤k h exact) is ≤ {EPSILON_STAGE1}, per seed; γ = OLS slope of log n* on log d, interval = hull of "
                  "the bootstrap over seeds and the pooled t-interval; bands on the grid used (degree_band: from halfway "
                  "between the slopes of C(d+j−1, j−1) and C(d+j, j) to the slope of d^j·log d); REFUTED if the interval "
                  "misses the claimed band, SUPPORTED if it meets it and misses the alternative, else INCONCLUSIVE; "
                  f"not decided (INCONCLUSIVE) where E p⁶ > {PRE_ASYMPTOTIC_MOMENT}×15 on the grid")


def _network_exponent_check(audit, *, k: int, specs: Mapping[int, Mapping], label: str, instance: Mapping,
                            sizes, base_seed: int, cache_dir, device, record_lemma1: bool = False) -> None:
    """Run the layerwise sweep on ``specs`` and record the theorem1.sample-complexity evidence
    (and, if asked, the lemma1.stage1 limit evidence from the same runs)."""
    seeds = replicate_seeds(base_seed, sizes["seeds"])
    multiples = _multiples(sizes, k)
    runs = network_runs(specs, multiples=multiples, seeds=seeds, sizes=sizes)
    results = run_sweep(_runner(device), runs, cache_dir=cache_dir, code_version=CODE_VERSION,
                        desc=f"theorem1 {label}")
    targets = {d: build_target(spec) for d, spec in specs.items()}
    rho = {d: float(t.stage1_population_corr()) for d, t in targets.items()}
    q = targets[min(targets)].q
    ds = sorted(specs)
    corr = _curves(results, lambda r: r["corr"])
    error = _relative_error_curves(results, targets)
    gap = _curves(results, lambda r: r["plateau_gap"]["mean"])
    test = _curves(results, lambda r: r["test_mse"]["mean"])
    confidence = decision_confidence()
    rng = numpy_generator(derive_seed(base_seed, f"theorem1/bootstrap/{label}"))
    claimed, alternative = degree_band(ds, k), degree_band(ds, k * q)
    alternative = Band(alternative.low, math.inf, f"d^{k * q}")
    outcome = _stage1_exponent(results, targets, claimed=claimed, alternative=alternative, rng=rng,
                               confidence=confidence, label=label)
    fit_test, censored_test = _fit_or_none(_thresholds(gap, {d: 0.0 for d in ds}, "decreasing"), rng, confidence)
    plateau = {d: float(1 - sum(t.degree_energy(j) for j in range(k + 1)) / (t.norm2() - t.mean() ** 2))
               for d, t in targets.items()}
    best_collapse, collapse_figs = _collapse_figures(f"{label}", corr, rho, k, k * q)
    figs = [
        _curve_figure(f"{label}-error", f"stage-1 error ||ĝ−P≤k h||²/||P≤k h||² against n1 ({label}); median, min–max",
                      "relative stage-1 error", error, yscale="log",
                      guide=series(f"ε={EPSILON_STAGE1:g}", [min(n.min() for by in error.values() for n, _ in by.values()),
                                                            max(n.max() for by in error.values() for n, _ in by.values())],
                                   [EPSILON_STAGE1] * 2, style="guide")),
        _curve_figure(f"{label}-corr", f"corr(ĝ, p)/ρ(d) against n1 ({label}); median, min–max over seeds",
                      "corr(ĝ,p) / corr(P≤k h, p)", corr, scale=rho),
        _curve_figure(f"{label}-test", f"normalised test error of the network against n1 ({label})",
                      "E(f−h)²/Var h", test, yscale="log"),
        *collapse_figs,
    ]
    measured = {**outcome.measured, "collapse_best_gamma": best_collapse}
    if outcome.fit is not None:
        fits = {f"stage-1 error ≤ {EPSILON_STAGE1:g}": outcome.fit}
        if fit_test is not None:
            fits["test error < plateau"] = fit_test
        figs.append(_exponent_figure(f"{label}-nstar", f"n*(d) of the network ({label}) with fitted lines",
                                     fits, {f"d^{k}": float(k), f"d^{k * q}": float(k * q)}))
    if fit_test is not None:
        measured["gamma_test_below_plateau"] = fit_test.gamma
        measured["fit_test_below_plateau"] = fit_test.as_dict()
    else:
        measured["test_below_plateau_censored"] = censored_test
    audit.record(
        "theorem1.sample-complexity", verdict=outcome.verdict,
        rule=f"layerwise stage 1 (closed-form ridge); {_EXPONENT_RULE}; confidence {confidence:.4g}",
        key_figure=outcome.key, interval=outcome.fit.decision if outcome.fit else None,
        false_failure_budget=RECORD_BUDGET,
        parameters={"label": label, "k": k, "q": q, "ds": ds, "multiples_of_C(d+k,k)": list(multiples),
                    "seeds": seeds, "n2": sizes["n2"], "m2": sizes["m2"], "gram_ridge_per_dim": GRAM_RIDGE,
                    "instance": dict(instance)},
        measured={**measured, "population_corr": rho, "plateau_k": plateau, "why": outcome.why,
                  "runs": results.counts()},
        figures=figs,
        notes=("At small d the slope is biased by lower-order terms (C(d+k,k) ≠ d^k/k!), log factors and heavy tails; "
               "the bands are computed on the grid used. The second exponent (test error of the whole network below "
               "the degree-k plateau, n2 fixed) is reported, not decided."),
    )
    if record_lemma1:
        _record_lemma1(audit, results=results, rho=rho, targets=targets, k=k, label=label, instance=instance)


def _record_lemma1(audit, *, results: SweepResults, rho, targets, k: int, label: str, instance) -> None:
    """lemma1.stage1 at scale: at the largest d of the sweep, the extrapolated n1 → ∞ limit of
    corr(ĝ, p) against the exact ρ(d) = corr(P≤k h, p) (``stage1_limit_verdict``)."""
    top_d = max(r["d"] for r in results.rows())
    at_scale = results.where(d=top_d)
    corr = _curves(at_scale, lambda r: r["corr"])
    error = _curves(at_scale, lambda r: r["projection_error"]["mean"])
    confidence = decision_confidence(RECORD_BUDGET / len(corr))
    verdicts, rows = [], {}
    for d, by_seed in corr.items():
        D = dim(d, k)
        t = targets[d]
        share = float(sum(t.degree_energy(j) for j in range(k + 1)) / (t.norm2() - t.mean() ** 2))
        top_error = float(np.median([v[-1] for _, v in error[d].values()])) / share
        ns = np.concatenate([n for n, _ in by_seed.values()])
        ys = np.concatenate([v for _, v in by_seed.values()])
        keep = ns >= 8 * D
        fit = limit_fit(ns[keep], ys[keep], scale=D, confidence=confidence)
        v, why = stage1_limit_verdict(fit, exact=rho[d], relative_error_at_top=top_error)
        verdicts.append(v)
        rows[d] = {"exact": rho[d], "limit": fit.limit, "limit_interval": [fit.interval.low, fit.interval.high],
                   "median_corr_at_top": float(np.median([v[-1] for _, v in by_seed.values()])),
                   "relative_stage1_error_at_top": top_error, "verdict": v.value, "why": why}
    verdict = combine(verdicts)
    worst = max(rows.items(), key=lambda kv: abs(kv[1]["limit"] - kv[1]["exact"]))
    audit.record(
        "lemma1.stage1", verdict=verdict,
        rule=(f"at the largest d of the sweep: INCONCLUSIVE unless the median ||ĝ−P≤k h||²/||P≤k h||² at the largest n1 is ≤ {ASYMPTOTIC_REGIME:g}; "
              "then OLS of corr(ĝ,p) on (1, D/n1) over n1 ≥ 8·C(d+k,k), all seeds (D = C(d+k,k)): REFUTED if "
              f"the intercept's t-interval at {confidence:.5g} excludes the exact corr(P≤k h,p), "
              f"SUPPORTED if it contains it and is ≤ {2 * LIMIT_RESOLUTION:g} wide, else INCONCLUSIVE"),
        key_figure=(f"{label}: worst d={worst[0]}: limit {worst[1]['limit']:.3f} in [{worst[1]['limit_interval'][0]:.3f}, "
                    f"{worst[1]['limit_interval'][1]:.3f}], exact {worst[1]['exact']:.4f}"),
        interval=Interval(*worst[1]["limit_interval"], confidence, "intercept t-interval (worst d)"),
        false_failure_budget=RECORD_BUDGET, parameters={"label": label, "k": k, "instance": dict(instance)},
        measured={"per_d": {str(d): r for d, r in rows.items()}},
        notes=("The stage-1 ridge falls like 1/n1, so the least-squares limit P≤k h is the n1 → ∞ limit. "
               "The extrapolation is trusted only in the 1/n regime (stage-1 error a small perturbation)."),
    )


@claim_check("theorem1.sample-complexity", target=["section5"], k=[3])
def test_network_exponent_section5(target, k, audit, tier, base_seed, cache_dir, device):
    sizes = tier.sizes(AREA)
    specs = {d: section5_spec(d, seed=base_seed) for d in sizes["k3_ds"]}
    _network_exponent_check(audit, k=3, specs=specs, label="section5-k3", instance={"target": "section5", "ds": list(specs)},
                            sizes=sizes, base_seed=base_seed, cache_dir=cache_dir, device=device)


@claim_check("lemma1.stage1", target=["section5"], k=[3], scale=["sweep"])
def test_stage1_limit_section5(target, k, scale, audit, tier, base_seed, cache_dir, device):
    sizes = tier.sizes(AREA)
    specs = {d: section5_spec(d, seed=base_seed) for d in sizes["k3_ds"]}
    seeds = replicate_seeds(base_seed, sizes["seeds"])
    # The runs of test_network_exponent_section5, in reverse order: under xdist the two tests then
    # share the work from both ends (the per-run locks) instead of one waiting for the other.
    runs = network_runs(specs, multiples=_multiples(sizes, 3), seeds=seeds, sizes=sizes)[::-1]
    results = run_sweep(_runner(device), runs, cache_dir=cache_dir, code_version=CODE_VERSION, desc="lemma1 section5")
    targets = {d: build_target(s) for d, s in specs.items()}
    rho = {d: float(t.stage1_population_corr()) for d, t in targets.items()}
    _record_lemma1(audit, results=results, rho=rho, targets=targets, k=3, label="section5-k3",
                   instance={"target": "section5", "ds": list(specs)})


@claim_check("theorem1.sample-complexity", target=["drawn"], k=[2])
def test_network_exponent_drawn(target, k, audit, tier, base_seed, cache_dir, device):
    sizes = tier.sizes(AREA)

    @_hypothesis_settings(tier)
    @given(recipe=_k2_recipes())
    def sweep_for(recipe):
        specs = {d: recipe_spec(recipe, d) for d in sizes["k2_ds"]}
        _network_exponent_check(audit, k=2, specs=specs, label="drawn-k2", instance=recipe,
                                sizes=sizes, base_seed=base_seed, cache_dir=cache_dir, device=device,
                                record_lemma1=True)

    sweep_for()


# ---- kernel.lower-bound ------------------------------------------------------------------------------------

# The k = q = 2 analogue of the §5 target for the kernel checks: p = d^{-1/2} Σ λ_i h_2(x_i),
# λ_i = (−1)^i (Σ λ_i ∈ {0, 1}: random signs can make p nearly radial, a function of |x|², which a
# rotation-invariant kernel learns with O(1) samples), g = He_1 + He_2/2 = z + (z² − 1)/2 (E g = 0, E g' = 1). h has degrees 0, 2, 4 only, so the
# plateau of degree-<=2 and degree-<=3 learners is the same, ||P_4 h||² / Var h.
KERNEL_RECIPE = {"psi": [[[2], "1"]], "psi_name": "h_2", "k": 2, "link": ["-1/2", "1", "1/2"], "signs": "alternating"}


def _plateau_shares(target, degree: int) -> tuple[float, dict[int, float]]:
    """(plateau of degree-<=l learners, {j: ||P_j h||²/Var h for j > l}), exact then rounded."""
    var = target.norm2() - target.mean() ** 2
    energies = target.degree_energies()
    above = {j: float(e / var) for j, e in enumerate(energies) if j > degree and e != 0}
    return float(sum(energies[degree + 1:]) / var), above


def kernel_runs(spec: Mapping[str, Any], *, n: int, seeds: Sequence[int], sizes, plateau_degree: int,
                methods: Sequence[tuple[str, dict]]) -> list[Run]:
    base = {"target": dict(spec), "n_test": sizes["n_test"], "plateau_degree": plateau_degree}
    return [Run(method=m, d=spec["d"], n=n, seed=s, config={**base, **cfg}) for m, cfg in methods for s in seeds]


def _kernel_methods(sizes, kq: int) -> list[tuple[str, dict]]:
    """Kernel baselines of the plateau check; the polynomial kernel of degree kq can represent h."""
    return [("kernel", {"kernel": "polynomial", "kernel_params": {"degree": kq}, "ridge": 1e-4}),
        ("kernel", {"kernel": "ntk", "kernel_params": {"bias": True}, "ridge": 1e-3}),
        ("random-features", {"width": sizes["kernel_rf_width"], "ridge": 1e-3})]


def _label(row: Mapping[str, Any]) -> str:
    if row["method"] == "kernel":
        return f"kernel {row['kernel']} ξ={row['ridge']:g}"
    if row["method"] == "random-features":
        return f"random features ReLU width {row['width']}"
    return row["method"]


@claim_check("kernel.lower-bound", k=[2], q=[2], n=["C*d^k"])
def test_kernel_plateau(k, q, n, audit, tier, base_seed, cache_dir, device):
    sizes = tier.sizes(AREA)
    d = sizes["kernel_d"]
    spec = recipe_spec(KERNEL_RECIPE, d)
    target = build_target(spec)
    plateau, above = _plateau_shares(target, k)
    D = dim(d, k)
    n1 = int(round(sizes["kernel_multiple"] * D))
    n_total = n1 + sizes["n2"]
    seeds = replicate_seeds(base_seed, sizes["kernel_seeds"])
    runs = network_runs({d: spec}, multiples=[sizes["kernel_multiple"]], seeds=seeds, sizes=sizes) + kernel_runs(
        spec, n=n_total, seeds=seeds, sizes=sizes, plateau_degree=k, methods=_kernel_methods(sizes, k * q))
    results = run_sweep(_runner(device), runs, cache_dir=cache_dir, code_version=CODE_VERSION, desc="kernel plateau")
    rows = results.rows()
    allowance = plateau_allowance(above, n=n_total, d=d)
    kernel_labels = sorted({_label(r) for r in rows if r["method"] != "layerwise"})
    z = one_sided_z(RECORD_BUDGET, (len(kernel_labels) + 1) * len(seeds))
    verdicts, measured = [], {}
    for lab in kernel_labels:
        sel = [r for r in rows if _label(r) == lab]
        v, why = kernel_plateau_verdict([r["plateau_gap"]["mean"] for r in sel], [r["plateau_gap"]["se"] for r in sel],
                                        allowance=allowance, z=z)
        verdicts.append(v)
        measured[lab] = {"verdict": v.value, "why": why, "risk": [r["test_mse"]["mean"] for r in sel],
                         "risk_minus_plateau": [r["plateau_gap"]["mean"] for r in sel],
                         "se": [r["plateau_gap"]["se"] for r in sel]}
    net = [r for r in rows if r["method"] == "layerwise"]
    v_net, why_net = network_below_verdict([r["plateau_gap"]["mean"] for r in net], [r["plateau_gap"]["se"] for r in net], z=z)
    verdicts.append(v_net)
    measured["network"] = {"verdict": v_net.value, "why": why_net, "risk": [r["test_mse"]["mean"] for r in net],
                           "risk_minus_plateau": [r["plateau_gap"]["mean"] for r in net],
                           "se": [r["plateau_gap"]["se"] for r in net]}
    best_kernel = min(min(m["risk_minus_plateau"]) for lab, m in measured.items() if lab != "network")
    labels = list(measured)
    fig = figure("plateau", title=f"test error at n = {n_total} (d={d}): network vs kernels, exact plateau",
                 xlabel="method (0 = network)", ylabel="E(f−h)²/Var h",
                 series_list=[series(lab, [i] * len(measured[lab]["risk"]), measured[lab]["risk"], style="points")
                              for i, lab in enumerate(["network"] + [x for x in labels if x != "network"])]
                 + [series("plateau ||P>2 h||²/Var h", [0, len(labels) - 1], [plateau, plateau], style="guide"),
                    series("plateau − allowance", [0, len(labels) - 1], [plateau - allowance] * 2, style="guide")])
    audit.record(
        verdict=combine(verdicts),
        rule=(f"paired per seed: (risk − plateau) = mean over test points of (f−h)² − (P≤{k}h − h)², / Var h; z = "
              f"{z:.3g} (one-sided, Bonferroni over methods × seeds). Kernels: REFUTED if some seed has gap + z·se < "
              "−allowance, allowance = Σ_{j>k} share_j·min(1, n/C(d+j−1, j)) (the average share a rotation-invariant "
              "linear smoother with n samples can capture), else SUPPORTED. Network: SUPPORTED if every seed has "
              "gap + z·se < 0, REFUTED if every seed has gap − z·se ≥ 0, else INCONCLUSIVE"),
        key_figure=(f"d={d}, n={n_total}: plateau {plateau:.3f}; best kernel risk−plateau {best_kernel:+.3f} "
                    f"(allowance {allowance:.3f}); network {max(measured['network']['risk_minus_plateau']):+.3f}"),
        false_failure_budget=RECORD_BUDGET,
        parameters={"d": d, "n1": n1, "n2": sizes["n2"], "n_kernel": n_total, "seeds": seeds, "recipe": KERNEL_RECIPE,
                    "kernels": kernel_labels},
        measured={"plateau": plateau, "shares_above": {str(j): s for j, s in above.items()}, "allowance": allowance,
                  "methods": measured, "runs": results.counts()},
        figures=[fig],
        notes=("n = C·d^k with C = kernel_multiple·C(d+k,k)/d^k; the kernels see n1 + n2 samples, all the network's data. "
               "Kernel ridge values are fixed, small (ξ = 1e-4 polynomial, 1e-3 NTK and random features)."),
    )


@claim_check("kernel.lower-bound", k=[2], q=[2], n=["sweep"])
def test_kernel_exponent(k, q, n, audit, tier, base_seed, cache_dir, device):
    sizes = tier.sizes(AREA)
    ds = list(sizes["kernel_exponent_ds"])
    specs = {d: recipe_spec(KERNEL_RECIPE, d) for d in ds}
    targets = {d: build_target(s) for d, s in specs.items()}
    kq = k * q
    plateau = {d: _plateau_shares(t, kq - 1)[0] for d, t in targets.items()}
    seeds = replicate_seeds(base_seed, sizes["kernel_exponent_seeds"])
    kernel_cfg = [("kernel", {"kernel": "polynomial", "kernel_params": {"degree": kq}, "ridge": 1e-3})]
    runs = [run for d in ds for m in sizes["kernel_multiples"]
            for run in kernel_runs(specs[d], n=int(round(m * dim(d, kq))), seeds=seeds, sizes=sizes,
                                   plateau_degree=kq - 1, methods=kernel_cfg)]
    net_runs = network_runs(specs, multiples=sizes["multiples"], seeds=seeds, sizes=sizes, plateau_degree=kq - 1)
    results = run_sweep(_runner(device), runs + net_runs, cache_dir=cache_dir, code_version=CODE_VERSION,
                        desc="kernel exponent")
    kernel = results.where(method="kernel")
    net = results.where(method="layerwise")
    # kernel threshold: risk ≤ KERNEL_LEVEL × plateau, i.e. risk − plateau ≤ −(1 − KERNEL_LEVEL)·plateau
    gap_k = _curves(kernel, lambda r: r["plateau_gap"]["mean"])
    gap_n = _curves(net, lambda r: r["plateau_gap"]["mean"])
    confidence = decision_confidence()
    rng = numpy_generator(derive_seed(base_seed, "theorem1/bootstrap/kernel"))
    fit_k, cens_k = _fit_or_none(_thresholds(gap_k, {d: -(1 - KERNEL_LEVEL) * plateau[d] for d in ds}, "decreasing"),
                                 rng, confidence)
    fit_n, cens_n = _fit_or_none(_thresholds(gap_n, {d: 0.0 for d in ds}, "decreasing"), rng, confidence)
    claimed = degree_band(ds, kq)
    low_band = degree_band(ds, k)
    alternative = Band(-math.inf, low_band.high, f"d^{k}")
    risk_k = _curves(kernel, lambda r: r["test_mse"]["mean"])
    figs = [_curve_figure("kernel-risk", f"kernel (polynomial, degree {kq}) test error against n", "E(f−h)²/Var h",
                          risk_k, yscale="log", xlabel="n")]
    fits = {f"kernel: risk ≤ {KERNEL_LEVEL:g}·plateau": fit_k} if fit_k is not None else {}
    if fit_n is not None:
        fits["network: risk < plateau"] = fit_n
    if fits:
        figs.append(_exponent_figure("nstar-network-kernel", "n*(d): network and kernel, fitted lines", fits,
                                     {f"d^{k}": float(k), f"d^{kq}": float(kq)}))
    if fit_k is None:
        verdict, why, interval, key = Verdict.INCONCLUSIVE, f"kernel thresholds censored: {cens_k}", None, "kernel n* censored by the grid"
    else:
        verdict, why = exponent_verdict(fit_k.decision, claimed=claimed, alternative=alternative)
        interval = fit_k.decision
        key = f"kernel γ={fit_k.gamma:.2f} {fit_k.decision} vs d^{kq} band [{claimed.low:.2f},{claimed.high:.2f}]; d^{k} up to {alternative.high:.2f}"
    audit.record(
        verdict=verdict,
        rule=(f"kernel n*(d) = smallest n from which the isotonic fit of its paired (risk − plateau_{kq - 1}) is ≤ "
              f"−{1 - KERNEL_LEVEL:g}·plateau (risk ≤ {KERNEL_LEVEL:g}·plateau); γ by OLS on log d with the hull of "
              f"bootstrap and t-intervals at {confidence:.4g}; REFUTED if it misses the d^{kq} band, SUPPORTED if it meets "
              f"it and lies above the d^{k} band, else INCONCLUSIVE"),
        key_figure=key, interval=interval, false_failure_budget=RECORD_BUDGET,
        parameters={"ds": ds, "multiples_of_C(d+kq,kq)": list(sizes["kernel_multiples"]), "seeds": seeds,
                    "recipe": KERNEL_RECIPE, "kernel": "polynomial", "degree": kq, "ridge": 1e-3},
        measured={"why": why, "kernel_fit": fit_k.as_dict() if fit_k else None,
                  "network_fit_below_plateau": fit_n.as_dict() if fit_n else cens_n, "plateau": plateau,
                  "bands": {"claimed": [claimed.low, claimed.high], "alternative_high": alternative.high},
                  "runs": results.counts()},
        figures=figs,
        notes="The network's n* (test error below the plateau, n2 fixed) is drawn for comparison, not decided here.",
    )


# ---- theorem1.stage2 -----------------------------------------------------------------------------------------

@claim_check("theorem1.stage2", feature=["given"])
def test_stage2_given_feature(feature, audit, tier, base_seed, cache_dir, device):
    sizes = tier.sizes(AREA)
    ds = list(sizes["stage2_ds"])
    seeds = replicate_seeds(base_seed, sizes["seeds"])
    specs = {d: section5_spec(d, seed=base_seed) for d in ds}
    runs = [Run(method="stage2-given", d=d, n=n2, seed=s,
                config={"target": specs[d], "n_test": sizes["n_test"], "m2": sizes["m2"], "ridge2": sizes["ridge2"]})
            for d in ds for n2 in sizes["stage2_n2"] for s in seeds]
    results = run_sweep(_runner(device), runs, cache_dir=cache_dir, code_version=CODE_VERSION, desc="stage 2")
    test = _curves(results, lambda r: r["test_mse"]["mean"])
    confidence = decision_confidence()
    rng = numpy_generator(derive_seed(base_seed, "theorem1/bootstrap/stage2"))
    fit, censored = _fit_or_none(_thresholds(test, {d: STAGE2_EPSILON for d in ds}, "decreasing"), rng, confidence)
    epsilon_line = series(f"ε={STAGE2_EPSILON:g}", [sizes["stage2_n2"][0], sizes["stage2_n2"][-1]],
                          [STAGE2_EPSILON] * 2, style="guide")
    figs = [_curve_figure("stage2-test", "stage 2 on the given feature ĝ = p: test error against n2",
                          "E(f−h)²/Var h", test, guide=epsilon_line, yscale="log", xlabel="n2")]
    if fit is None:
        verdict, why, interval, key = Verdict.INCONCLUSIVE, f"censored: {censored}", None, "n2* censored by the grid"
    else:
        verdict, why = growth_verdict(fit.decision)
        interval = fit.decision
        key = f"n2*(d) ∝ d^{fit.gamma:.2f}, {fit.decision} (≤ {STAGE2_MAX_GROWTH:g} means flat) on d={ds}"
        figs.append(_exponent_figure("stage2-nstar", "n2*(d) of stage 2 with the given feature", {"stage 2": fit},
                                     {"d^0": 0.0, "d^1": 1.0}))
    audit.record(
        verdict=verdict,
        rule=(f"n2*(d) = smallest n2 from which the isotonic fit of the test error E(f−h)²/Var h is ≤ {STAGE2_EPSILON:g}, "
              f"per seed, with ĝ = p given (the §5 target at each d); growth exponent = OLS slope of log n2* on log d, "
              f"hull of bootstrap and t-intervals at {confidence:.4g}; SUPPORTED if ≤ {STAGE2_MAX_GROWTH:g}, REFUTED if "
              "wholly above, else INCONCLUSIVE"),
        key_figure=key, interval=interval, false_failure_budget=RECORD_BUDGET,
        parameters={"ds": ds, "n2_grid": list(sizes["stage2_n2"]), "m2": sizes["m2"], "ridge2": sizes["ridge2"],
                    "seeds": seeds, "target": "section5"},
        measured={"why": why, "fit": fit.as_dict() if fit else censored, "runs": results.counts()},
        figures=figs,
        notes="ĝ = p exactly isolates stage 2: the ReLU features σ2(a·p + b) plus the skip term fit g = C_d z³ on p.",
    )


# ---- corollary.quadratic -----------------------------------------------------------------------------------

# Our one-step variant is not NDL 2023's method (module note in the evidence), so its exponent is
# recorded under its own conjecture, not as the corollary's verdict.
ONE_STEP_CLAIM = get_claim("conjecture.one-step-quadratic")  # registered in checks/registry.py


@claim_check("corollary.quadratic", k=[2])
def test_corollary_quadratic(k, audit, tier, base_seed, cache_dir, device):
    sizes = tier.sizes(AREA)
    ds = list(sizes["corollary_ds"])
    seeds = replicate_seeds(base_seed, sizes["seeds"])

    @_hypothesis_settings(tier)
    @given(recipe=_k2_recipes())
    def compare(recipe):
        specs = {d: recipe_spec(recipe, d) for d in ds}
        rho = {d: float(build_target(s).stage1_population_corr()) for d, s in specs.items()}
        # the same runs as the theorem1 k = 2 sweep (shared through the cache when the draws agree)
        layer = network_runs(specs, multiples=sizes["multiples"], seeds=seeds, sizes=sizes)[::-1]  # see lemma1
        onestep = [Run(method="one-step", d=d, n=int(m * dim(d, 2)), seed=s,
                       config={"target": specs[d], "n_test": sizes["n_test"]})
                   for d in ds for m in sizes["onestep_multiples"] for s in seeds]
        results = run_sweep(_runner(device), layer + onestep, cache_dir=cache_dir, code_version=CODE_VERSION,
                            desc="corollary")
        confidence = decision_confidence()
        rng = numpy_generator(derive_seed(base_seed, "theorem1/bootstrap/corollary"))
        band2, band4 = degree_band(ds, 2), degree_band(ds, 4)
        cases = (("layerwise", "corollary.quadratic", band2, Band(band4.low, math.inf, "d^4"),
                  "layerwise stage 1 (closed-form ridge: trained to convergence)"),
                 ("one-step", ONE_STEP_CLAIM.id, band4, Band(-math.inf, band2.high, "d^2"),
                  "one gradient step from 0, unit step, on the orthonormal Hermite features of degree <= 2"))
        targets = {d: build_target(s) for d, s in specs.items()}
        for method, claim_id, claimed, alternative, what in cases:
            subset = results.where(method=method)
            outcome = _stage1_exponent(subset, targets, claimed=claimed, alternative=alternative, rng=rng,
                                       confidence=confidence, label=method)
            audit.record(
                claim_id, verdict=outcome.verdict, rule=f"{what}; {_EXPONENT_RULE}; confidence {confidence:.4g}",
                key_figure=outcome.key, interval=outcome.fit.decision if outcome.fit else None,
                false_failure_budget=RECORD_BUDGET,
                parameters={"method": method, "ds": ds, "seeds": seeds, "instance": dict(recipe),
                            "multiples_of_C(d+2,2)": list(sizes["multiples"] if method == "layerwise" else sizes["onestep_multiples"])},
                measured={**outcome.measured, "why": outcome.why, "population_corr": rho, "runs": results.counts()},
                figures=[_curve_figure(f"corollary-{method}", f"stage-1 error against n ({method})",
                                       "||ĝ−P≤2 h||²/||P≤2 h||²", _relative_error_curves(subset, targets),
                                       yscale="log", xlabel="n")],
                notes=("The one-step variant's population limit is P≤2 h, as for the converged stage 1, so only the "
                       "sample complexity differs. NDL 2023 take their step on random ReLU features, whose finite-width "
                       "kernel also biases the limit (its radial direction is amplified); that method is not reproduced "
                       "here, hence the conjecture id for this half." if method == "one-step" else
                       "The corollary's own half: Õ(d²) for the layerwise procedure."),
            )

    compare()
