"""Training-side probes of the assumptions (docs/paper.md §6): what stage 1 of Algorithm 1 learns when
an assumption is removed, against what theory predicts exactly. A break is asserted
(``predicts_break=True``) only where exact theory predicts it at the size that is run.

- ``probe.information-exponent``: E g' = 0. With g = h_2 and the §5 feature (p odd, h even) the
  population limit corr(P_{<=3} h, p) is exactly 0: a break (stage 1 finds no p) is predicted and
  asserted. With g = h_3 the limit is NOT small at reachable d: P_3 h = (m4 − 3)/(d√6)·p exactly
  (m4 = E h_3⁴ = 93), a multiple of p that vanishes only like 1/d, and corr(P_{<=3} h, p) = 0.97 at
  d = 8; no break is predicted there, and the record says whether one appeared.
- ``probe.few-components``: L = O(1) product blocks with a link that has an even part; the exact
  ceiling corr(P_{<=3} h, p) = (1 + 24/L)^{-1/2} depends on L only (the degree-2 part of P_{<=3} h
  has norm O(L^{-1/2}), docs/paper.md §7), so it stays below the recovery level at every d and n; the
  break is asserted, and the learner must reach that ceiling for it to count.
- ``probe.few-samples`` (registered here): n = d^{k-1} samples, far below the C(d+k, k) features'
  dimension, cannot estimate the degree-k part; asserted where n <= C(d+k, k)/8, with the same
  target at n = C·C(d+k, k) as the control.
- ``probe.non-gaussian``: Rademacher, uniform-cube and uniform-sphere inputs. On ±1,
  h_3(x_i) = −2x_i/√6, so p is LINEAR and h = C p³ is itself a polynomial of degree 3: stage 1
  learns all of h (its plateau is 0) and corr(ĝ, p) tends to corr(p³, p) = (3d−2)/√(15d² − 30d + 16)
  ≈ 0.81, not to the Gaussian 0.98. Under the uniform cube h_3 has a linear part and the limits
  shift again. What is predicted is the law's own exact limit (:func:`product_law_stage1_limits`);
  measured against it and reported (no break is predicted). The sphere is not a product law:
  measured against the Gaussian limit.

An asserted break counts only with a control that recovers p (the same d and n with the assumption
restored, or, for few components, the learner at its exact ceiling); otherwise INCONCLUSIVE.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pytest
import sympy

from checks.audit import claim_check
from checks.evidence import Interval, Tolerance, Verdict
from checks.rules import APPROACH_FRACTION, approach_verdict, below_verdict, one_sided_z
from checks.runs import replicate_seeds, runner_for, stage1_runs
from checks.seeds import derive_seed, numpy_generator
from checks.specs import build_target, section5_spec, target_spec
from checks.stats import seed_median_interval
from checks.sweep import Run, SweepResults, run_sweep
from theory.hermite import gaussian_moment
from theory.features import BlockFeature, HierarchicalTarget, Link, Weights
from theory.structured import BlockType

__all__ = [
    "RECOVERY_CORR",
    "PROBE_BUDGET",
    "no_recovery_verdict",
    "attributable_break",
    "ceiling_attribution",
    "law_limit_verdict",
    "LAW_MOMENTS",
    "product_law_stage1_limits",
]

# corr(ĝ, p) < 1/2: p explains less than a quarter of ĝ's variance, so ĝ is no usable proxy for p
# and stage 2 cannot learn g through it. Fixed before any run.
RECOVERY_CORR = 0.5
# False-failure budget of each asserted break (the run's total limit is 1e-2).
PROBE_BUDGET = 2.5e-4
AREA = "probes_training"
CODE_VERSION = "probes-training-runs/1"


# ---- decision rules (pure functions; tests/test_section5_rules.py) ------------------------------

def no_recovery_verdict(corr: Sequence[float], se: Sequence[float], *, z: float,
                        threshold: float = RECOVERY_CORR) -> tuple[Verdict, Interval]:
    """The predicted break "stage 1 does not recover p": SUPPORTED when the seed-median corr(ĝ, p)
    is below ``threshold`` with its whole interval, REFUTED (the break did not appear) when the
    whole interval is at or above it, INCONCLUSIVE otherwise."""
    return below_verdict(corr, se, bound=threshold, z=z)


def attributable_break(break_verdict: Verdict, control_corr: Sequence[float], control_se: Sequence[float], *,
                       z: float, threshold: float = RECOVERY_CORR) -> tuple[Verdict, Interval]:
    """A break counts only if the control (assumption restored, same d and n) does recover p:
    a control whose interval is not wholly at or above ``threshold`` turns the verdict into
    INCONCLUSIVE (the learner failed for another reason). Returns (verdict, control interval)."""
    control = seed_median_interval(control_corr, control_se, z)
    if control.low >= threshold:
        return break_verdict, control
    return Verdict.INCONCLUSIVE, control


def ceiling_attribution(break_verdict: Verdict, interval: Interval, *, ceiling: float,
                        fraction: float = APPROACH_FRACTION) -> Verdict:
    """A break attributed to an exact ceiling ρ < RECOVERY_CORR counts only if the learner is not
    significantly short of that ceiling: a SUPPORTED break whose interval lies wholly below
    fraction·ρ becomes INCONCLUSIVE (the fit failed, whatever the ceiling)."""
    if break_verdict is Verdict.SUPPORTED and interval.high < fraction * ceiling:
        return Verdict.INCONCLUSIVE
    return break_verdict


def law_limit_verdict(corr: Sequence[float], se: Sequence[float], *, limit: float, z: float,
                      fraction: float) -> tuple[Verdict, Interval]:
    """Does stage 1 under a given input law go to that law's exact limit? SUPPORTED when the
    seed-median interval reaches fraction·limit (its low end at or above it) and is consistent
    with not exceeding the degree-<=k ceiling ``limit`` (its low end at or below it); REFUTED when
    it lies wholly below fraction·limit or wholly above ``limit``; else INCONCLUSIVE."""
    interval = seed_median_interval(corr, se, z)
    low_bound = fraction * limit
    if low_bound <= interval.low <= limit:
        return Verdict.SUPPORTED, interval
    if interval.high < low_bound or interval.low > limit:
        return Verdict.REFUTED, interval
    return Verdict.INCONCLUSIVE, interval


# ---- exact stage-1 limits of the §5 target under symmetric product laws --------------------------

# E x^m of one coordinate (unit variance, symmetric): exact rationals.
LAW_MOMENTS: dict[str, Callable[[int], Fraction]] = {
    "gaussian": lambda m: Fraction(gaussian_moment(m)),
    "rademacher": lambda m: Fraction(0 if m % 2 else 1),
    "cube": lambda m: Fraction(0) if m % 2 else Fraction(3 ** (m // 2), m + 1),  # uniform on [-√3, √3]
}


def _poly_mul(p: Sequence[Fraction], q: Sequence[Fraction]) -> list[Fraction]:
    out = [Fraction(0)] * (len(p) + len(q) - 1)
    for i, a in enumerate(p):
        for j, b in enumerate(q):
            out[i + j] += a * b
    return out


def _inner(p: Sequence[Fraction], q: Sequence[Fraction], moment: Callable[[int], Fraction]) -> Fraction:
    return sum((a * b * moment(i + j) for i, a in enumerate(p) for j, b in enumerate(q) if a and b), Fraction(0))


def _orthogonal_basis(moment: Callable[[int], Fraction], degree: int) -> dict[int, list[Fraction]]:
    """Gram–Schmidt on 1, x, ..., x^degree in L²(law), exact; a power that is a combination of
    lower ones on the law's support (x² = 1 on ±1) has norm 0 there and is dropped."""
    basis: dict[int, list[Fraction]] = {}
    for a in range(degree + 1):
        v = [Fraction(0)] * a + [Fraction(1)]
        for e in basis.values():
            c = _inner(v, e, moment) / _inner(e, e, moment)
            v = [(v[i] if i < len(v) else 0) - c * (e[i] if i < len(e) else 0) for i in range(max(len(v), len(e)))]
        if _inner(v, v, moment) != 0:
            basis[a] = v
    return basis


def product_law_stage1_limits(d: int, law: str) -> dict[str, float]:
    """Exact population limits of stage 1 for the §5 target h ∝ p³, p ∝ Σ_i λ_i He_3(x_i), when the
    coordinates x_i are i.i.d. from a symmetric law with unit variance (``LAW_MOMENTS``).

    Stage 1 learns P_{<=3} h, the L² projection on all polynomials of degree <= 3 (what the features
    (v·x + s)³ span). The law is a product, so that space has the orthogonal basis of products
    e_{a_1}(x_{i_1})···e_{a_j}(x_{i_j}), Σ a <= 3, e_a the law's own orthogonal polynomials; by
    parity only singles e_1, e_3, ordered pairs e_2(x_i) e_1(x_j) and triples e_1 e_1 e_1 meet p³,
    with multiplicities d, d(d−1) and C(d, 3). Signs λ_i drop out (λ³ = λ, symmetric law).
    Returns corr(P_{<=3} h, p) and the stage-1 plateau ||h − P_{<=3} h||² / ||h||², both exact up
    to the final square root, plus E p⁶ relative to (E p²)³ (the heavy-tail factor).
    """
    if law not in LAW_MOMENTS:
        raise ValueError(f"unknown product law {law!r}: choose one of {', '.join(LAW_MOMENTS)}")
    if isinstance(d, bool) or not isinstance(d, int) or d < 3:
        raise ValueError(f"d must be an integer >= 3, got {d!r}")
    moment = LAW_MOMENTS[law]
    basis = _orthogonal_basis(moment, 3)
    psi = [Fraction(0), Fraction(-3), Fraction(0), Fraction(1)]  # He_3; the scale cancels
    power = {1: psi}
    for m in range(2, 7):
        power[m] = _poly_mul(power[m - 1], psi)

    def mean(m: int) -> Fraction:
        return _inner(power[m], [Fraction(1)], moment)

    def against(m: int, a: int) -> Fraction:
        return _inner(power[m], basis[a], moment) if a in basis else Fraction(0)

    def norm2(a: int) -> Fraction:
        return _inner(basis[a], basis[a], moment)

    mu2, mu4, mu6 = mean(2), mean(4), mean(6)
    energy = Fraction(0)  # d³ ||P_{<=3} p³||²
    for a in (1, 3):
        if a in basis:
            energy += d * (against(3, a) + 3 * (d - 1) * mu2 * against(1, a)) ** 2 / norm2(a)
    if 1 in basis and 2 in basis:
        energy += d * (d - 1) * 9 * against(2, 2) ** 2 * against(1, 1) ** 2 / (norm2(2) * norm2(1))
    if 1 in basis:
        energy += math.comb(d, 3) * 36 * against(1, 1) ** 6 / norm2(1) ** 3
    projection_norm2 = energy / d ** 3
    h_dot_p = Fraction(d * mu4 + 3 * d * (d - 1) * mu2 ** 2, d ** 2)  # E p⁴
    h_norm2 = Fraction(d * mu6 + 15 * d * (d - 1) * mu4 * mu2 + 15 * d * (d - 1) * (d - 2) * mu2 ** 3, d ** 3)
    return {
        "population_corr": float(h_dot_p) / math.sqrt(float(projection_norm2) * float(mu2)),
        "stage1_plateau": float(1 - projection_norm2 / h_norm2),
        "p6_over_gaussian": float(h_norm2 / mu2 ** 3 / 15),
        "p_norm2_relative": float(mu2 / 6),  # E p² under the law, for p = Σ λ_i h_3(x_i)/√d
        "h_norm2_relative": float(h_norm2 / 6 ** 3),  # E p⁶ under the law, same normalisation
    }


# ---- runs -----------------------------------------------------------------------------------------

def _sweep(runs: list[Run], *, cache_dir, device, desc: str) -> SweepResults:
    return run_sweep(runner_for(device), runs, cache_dir=cache_dir,
                     code_version=CODE_VERSION, desc=desc)


def _column(results: SweepResults, n: int, name: str) -> list[float]:
    return [float(r[name]) for r in results.rows() if r["n"] == n]


def _controlled_break(results: SweepResults, n: int, control: SweepResults, control_n: int):
    """The no-recovery verdict at ``n`` with the control at ``control_n`` (same seeds): returns
    (corr, se, verdict, interval, control interval, z)."""
    corr, se = _column(results, n, "corr"), _column(results, n, "corr_se")
    z = one_sided_z(PROBE_BUDGET, len(corr))
    verdict, interval = no_recovery_verdict(corr, se, z=z)
    verdict, control_iv = attributable_break(verdict, _column(control, control_n, "corr"),
                                             _column(control, control_n, "corr_se"), z=z)
    return corr, se, verdict, interval, control_iv, z


def _signs(base_seed: int, what: str, size: int) -> np.ndarray:
    return numpy_generator(derive_seed(base_seed, f"probes-training/signs/{what}")).choice(np.array([-1, 1]), size=size)


def _hermite_block_spec(d: int, L: int, k: int, link: Link, *, base_seed: int) -> dict[str, Any]:
    """p = L^{-1/2} Σ_{i<L} λ_i h_k(x_i) on the first L coordinates of R^d, random signs; h = g∘p."""
    feature = BlockFeature.coordinate(BlockType.hermite(k), Weights.from_signs(_signs(base_seed, f"{k}/{L}/{d}", L)), d=d)
    return target_spec(HierarchicalTarget(feature, link))


def _with_link(spec: Mapping[str, Any], link: Link) -> dict[str, Any]:
    return target_spec(HierarchicalTarget(build_target(spec).feature, link))


SECTION5_LINK = "section5"
PROBE_LINKS = {
    "h2": lambda: Link.hermite(2),   # even: E g' = 0 and corr(P≤3 h, p) = 0 exactly (h even, p odd)
    "h3": lambda: Link.hermite(3),   # odd: E g' = 0, yet P_3 h = (m4 − 3)/(d√6)·p exactly
}
# A link with an even part, E g = 0, E g' = 1: g = He_1 + 2·He_2 = 2z² + z − 2 (docs/paper.md §7 trap).
EVEN_PART_LINK = (0, 1, 2)
# The §5 target's links and feature degree.
K3 = 3


def _record_break(audit, *, predicted: bool, verdict: Verdict, key: str, rule: str, parameters, measured,
                  interval: Interval | None, z: float, comparisons: int, figures=(), notes: str = "") -> None:
    audit.record(verdict=verdict, rule=rule, key_figure=key, parameters=parameters, measured=measured,
                 interval=interval, predicts_break=predicted,
                 tolerance=Tolerance(z, f"one-sided normal z at {PROBE_BUDGET:g} split over {comparisons} seed comparisons"),
                 false_failure_budget=PROBE_BUDGET if predicted else None, figures=list(figures), notes=notes)


def _break_rule(threshold: float = RECOVERY_CORR) -> str:
    return (f"break = stage 1 does not recover p: seed-median corr(ĝ,p) on test points < {threshold:g} with its whole "
            "interval [median ± z·max SE]; REFUTED (the break did not appear) if the interval lies wholly at or above "
            f"{threshold:g}; the break counts only if the control (assumption restored, same d and n) recovers p "
            "(interval wholly at or above the same level), else INCONCLUSIVE")


# ---- the probes ------------------------------------------------------------------------------------

@pytest.mark.training
@claim_check("probe.information-exponent", link=list(PROBE_LINKS))
def test_information_exponent_training(link, audit, tier, base_seed, cache_dir, device):
    """E g' = 0 with the §5 feature: stage 1 at n = C·C(d+3, 3) against the §5 link as control."""
    sizes = tier.sizes(AREA)
    d, seeds = sizes["d"], replicate_seeds(base_seed, sizes["seeds"], family="section5")
    n = sizes["n_multiple"] * math.comb(d + K3, K3)
    control_spec = section5_spec(d, seed=base_seed)
    probe_spec = _with_link(control_spec, PROBE_LINKS[link]())
    results = _sweep(stage1_runs(probe_spec, ns=[n], seeds=seeds, n_test=sizes["n_test"]), cache_dir=cache_dir,
                     device=device, desc=f"info-exponent {link}")
    control = _sweep(stage1_runs(control_spec, ns=[n], seeds=seeds, n_test=sizes["n_test"]), cache_dir=cache_dir,
                     device=device, desc="info-exponent control")
    rho = float(build_target(probe_spec).stage1_population_corr())
    rho_control = float(build_target(control_spec).stage1_population_corr())
    predicted = rho < RECOVERY_CORR  # exact theory at this d decides whether a break is predicted
    corr, se, verdict, interval, control_iv, z = _controlled_break(results, n, control, n)
    _record_break(
        audit, predicted=predicted, verdict=verdict, z=z, comparisons=len(seeds), interval=interval,
        key=(f"g={link}, d={d}, n={n}: median corr(ĝ,p) {np.median(corr):.3f} (exact limit {rho:.3f}, break "
             f"{'predicted' if predicted else 'NOT predicted at this d'}); control g=C_d z³ "
             f"{np.median(_column(control, n, 'corr')):.3f} (limit {rho_control:.3f})"),
        rule=_break_rule(),
        parameters={"d": d, "n": n, "link": link, "seeds": seeds, "m1": 2 * math.comb(d + K3, K3), "n_test": sizes["n_test"],
                    "control": "the §5 link g = C_d z³ on the same feature"},
        measured={"corr": corr, "corr_se": se, "population_corr": rho, "control_corr": _column(control, n, "corr"),
                  "control_population_corr": rho_control, "control_interval": [control_iv.low, control_iv.high],
                  "break_predicted": predicted, "stage1_loss": _column(results, n, "loss"),
                  "P3h_multiple_of_p": (93 - 3) / (d * math.sqrt(6)) if link == "h3" else 0.0},
        notes=("h2: h is even and p odd, so P≤3 h has no component along p at all (exact corr 0): the break is "
               "predicted at every d. h3: P_3 h = (m4 − 3)/(d√6)·p exactly (m4 = E h_3⁴ = 93), a multiple of p that "
               "vanishes only like 1/d, and P≤3 h is nearly parallel to p (exact corr 0.97 at d = 8): at reachable d "
               "theory predicts NO break in direction, only a small scale; the asymptotic break needs d ≫ 37."))


@pytest.mark.training
@claim_check("probe.few-components", L=[1, 2, 4])
def test_few_components_training(L, audit, tier, base_seed, cache_dir, device):
    """L product blocks ψ = x_a x_b x_c (the paper's second family; lighter tails than h_3) in R^d,
    g = He_1 + 2·He_2. The exact ceiling ρ(L) = corr(P≤3 h, p) depends on L only; the break
    (no recovery of p) is predicted wherever ρ(L) < RECOVERY_CORR."""
    sizes = tier.sizes(AREA)
    d = sizes["few_components_d"]
    link = Link.from_he_coefficients(list(EVEN_PART_LINK))
    seeds = replicate_seeds(base_seed, sizes["seeds"], family="section5")
    signs = _signs(base_seed, f"products/{L}/{d}", L)
    feature = BlockFeature.products(np.arange(K3 * L).reshape(L, K3), Weights.from_signs(signs), d=d)
    spec = target_spec(HierarchicalTarget(feature, link))
    n = sizes["n_multiple"] * math.comb(d + K3, K3)
    results = _sweep(stage1_runs(spec, ns=[n], seeds=seeds, n_test=sizes["n_test"]), cache_dir=cache_dir,
                     device=device, desc=f"few-components L={L}")
    rho = float(build_target(spec).stage1_population_corr())
    predicted = rho < RECOVERY_CORR
    z = one_sided_z(PROBE_BUDGET, len(seeds))
    corr, se = _column(results, n, "corr"), _column(results, n, "corr_se")
    verdict, interval = no_recovery_verdict(corr, se, z=z)
    verdict = ceiling_attribution(verdict, interval, ceiling=rho)
    exact_ceilings = {str(m): float(HierarchicalTarget(BlockFeature.products(
        np.arange(K3 * m).reshape(m, K3), Weights.from_signs(np.ones(m, dtype=int)), d=K3 * m), link).stage1_population_corr())
        for m in (1, 2, 4, 16, 64)}
    _record_break(
        audit, predicted=predicted, verdict=verdict, z=z, comparisons=len(seeds), interval=interval,
        key=f"L={L}, d={d}, n={n}: median corr(ĝ,p) {np.median(corr):.3f}, exact ceiling ρ(L)={rho:.3f} (independent of d)",
        rule=_break_rule() + (f"; the control is the learner itself: a break whose interval lies wholly below "
                              f"{APPROACH_FRACTION:g}·ρ(L) is INCONCLUSIVE (the fit, not the ceiling, stopped it)"),
        parameters={"L": L, "d": d, "k": K3, "psi": "x_a x_b x_c on disjoint blocks",
                    "link": "g = He_1 + 2 He_2 = 2z² + z − 2", "seeds": seeds, "n": n},
        measured={"corr": corr, "corr_se": se, "population_corr": rho, "break_predicted": predicted,
                  "exact_ceiling_by_L": exact_ceilings},
        notes=("The degree-2 part of P≤3 h has norm O(L^{-1/2}) (docs/paper.md §7): here ρ(L) = 1/√(1 + 24/L) whatever d, so "
               "with L fixed no d or n lifts corr(ĝ,p) above it; it rises only with L (exact_ceiling_by_L). With the §5 "
               "link (odd) the probe shows almost nothing: P_3 h is exactly a multiple of p at every L, ρ(1) = 0.973. "
               "h_3 blocks were not used: at L = 1, 2 the labels' tails (h_3(x)⁶) leave least squares unconverged at any "
               "affordable n (per-seed corr from −0.4 to 0.6 around a ceiling of 0.23)."))



FEW_SAMPLES_SHARE = 1 / 8  # "well below": n <= C(d+k, k)/8


@pytest.mark.training
@claim_check("probe.few-samples", k=[2, 3])
def test_few_samples_training(k, audit, tier, base_seed, cache_dir, device):
    """Stage 1 at n = d^{k-1} against n = C·C(d+k, k) (control), same target."""
    sizes = tier.sizes(AREA)
    d = sizes["few_samples_d"][k]
    seeds = replicate_seeds(base_seed, sizes["seeds"], family="section5")
    D = math.comb(d + k, k)
    few, enough = d ** (k - 1), sizes["n_multiple"] * D
    spec = (section5_spec(d, seed=base_seed) if k == K3 else
            _hermite_block_spec(d, d, k, Link.from_he_coefficients([0, 1, sympy.Rational(1, 2)]), base_seed=base_seed))
    results = _sweep(stage1_runs(spec, ns=[few, enough], seeds=seeds, n_test=sizes["n_test"]), cache_dir=cache_dir,
                     device=device, desc=f"few-samples k={k}")
    rho = float(build_target(spec).stage1_population_corr())
    predicted = few <= FEW_SAMPLES_SHARE * D
    corr, se, verdict, interval, control_iv, z = _controlled_break(results, few, results, enough)
    _record_break(
        audit, predicted=predicted, verdict=verdict, z=z, comparisons=len(seeds), interval=interval,
        key=(f"k={k}, d={d}: n=d^{k - 1}={few} ({few / D:.2f}·C(d+k,k)): median corr {np.median(corr):.3f}; "
             f"n={enough}: {np.median(_column(results, enough, 'corr')):.3f} (exact limit {rho:.3f})"),
        rule=_break_rule() + f"; a break is predicted (and asserted) when n <= C(d+k,k)·{FEW_SAMPLES_SHARE:g}",
        parameters={"k": k, "d": d, "n_few": few, "n_control": enough, "dimension": D, "seeds": seeds,
                    "target": "section5" if k == K3 else "p = d^{-1/2} Σ λ_i h_2(x_i), g = He_1 + He_2/2"},
        measured={"corr": corr, "corr_se": se, "control_corr": _column(results, enough, "corr"),
                  "control_interval": [control_iv.low, control_iv.high], "population_corr": rho,
                  "break_predicted": predicted},
        notes="Ridge with n < C(d+k,k) fits within the span of n kernel sections: it sees about n/C(d+k,k) of the degree-k part.")


@pytest.mark.training
@claim_check("probe.non-gaussian", law=["rademacher", "cube", "sphere"])
def test_non_gaussian_inputs(law, audit, tier, base_seed, cache_dir, device):
    """The §5 target under another input law: stage 1 measured against that law's exact limit
    (product laws) or, for the sphere (not a product law), against the Gaussian one; the Gaussian
    run at the same n is the reference. Reported: no break is predicted, the limits move."""
    sizes = tier.sizes(AREA)
    d, seeds = sizes["d"], replicate_seeds(base_seed, sizes["seeds"], family="section5")
    n = sizes["n_multiple"] * math.comb(d + K3, K3)
    spec = section5_spec(d, seed=base_seed)
    gaussian_limits = product_law_stage1_limits(d, "gaussian")
    exact = law in LAW_MOMENTS
    limits = product_law_stage1_limits(d, law) if exact else None
    variance = limits["h_norm2_relative"] / gaussian_limits["h_norm2_relative"] if exact else None
    results = _sweep(stage1_runs(spec, ns=[n], seeds=seeds, n_test=sizes["n_test"], law=law, variance=variance),
                     cache_dir=cache_dir, device=device, desc=f"non-gaussian {law}")
    gaussian = _sweep(stage1_runs(spec, ns=[n], seeds=seeds, n_test=sizes["n_test"]), cache_dir=cache_dir,
                      device=device, desc="non-gaussian reference")
    limit = limits["population_corr"] if exact else gaussian_limits["population_corr"]
    z = one_sided_z(PROBE_BUDGET, len(seeds))
    corr, se = _column(results, n, "corr"), _column(results, n, "corr_se")
    if exact:
        verdict, interval = law_limit_verdict(corr, se, limit=limit, z=z, fraction=APPROACH_FRACTION)
    else:  # no exact ceiling for the sphere: only "reaches the fraction of the Gaussian limit" is decided
        verdict, interval, _ = approach_verdict(corr, se, limit=limit, z=z)
    loss = _column(results, n, "loss")
    audit.record(
        verdict=verdict,
        rule=(f"stage 1 under {law} inputs goes to that law's exact limit: seed-median corr(ĝ,p) interval reaches "
              f"{APPROACH_FRACTION:g}·limit and does not exceed the degree-≤3 ceiling (three-way); limit = exact "
              "corr(P≤3 h, p) under the law" if exact else
              f"the sphere is not a product law and has no exact limit here: seed-median corr(ĝ,p) interval reaches "
              f"{APPROACH_FRACTION:g}·(the Gaussian limit), three-way"),
        key_figure=(f"{law}: median corr {np.median(corr):.3f} vs its limit {limit:.3f} (Gaussian {gaussian_limits['population_corr']:.3f}, "
                    f"measured {np.median(_column(gaussian, n, 'corr')):.3f}); stage-1 loss {np.median(loss):.3g}"
                    + (f" vs its plateau {limits['stage1_plateau']:.3g}" if exact else "")
                    + f" (Gaussian plateau {gaussian_limits['stage1_plateau']:.3g})"),
        parameters={"law": law, "d": d, "n": n, "seeds": seeds, "n_test": sizes["n_test"], "target": "section5"},
        measured={"corr": corr, "corr_se": se, "limit": limit, "law_limits": limits, "gaussian_limits": gaussian_limits,
                  "gaussian_corr": _column(gaussian, n, "corr"), "stage1_loss": loss,
                  "gaussian_stage1_loss": _column(gaussian, n, "loss"), "variance_under_law": variance},
        interval=interval,
        tolerance=Tolerance(z, f"one-sided normal z at {PROBE_BUDGET:g} over {len(seeds)} seeds (reported, not gating)"),
        notes=("Rademacher: h_3(±1) = ∓2/√6, so p = −(2/√6)·d^{-1/2} Σ λ_i x_i is linear and h = C p³ a cubic: stage 1 "
               "learns all of h (plateau 0) and corr(ĝ,p) → corr(p³,p) = (3d−2)/√(15d²−30d+16), not the Gaussian value. "
               "Cube: h_3 has a linear part under the uniform law, the limits shift (exact, product_law_stage1_limits). "
               "What the Gaussian assumption buys is Lemma 2's statement about P_k h; it is not what makes p learnable."),
    )
