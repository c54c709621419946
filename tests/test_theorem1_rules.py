"""The decision rules of checks/check_theorem1.py reject planted wrong claims, and keep their
false-failure budget on planted true ones.

Each rule is the plain function the check calls. Synthetic sweeps: n*(d) = C·(growth)·e^{σZ} per
seed with the check's own grids, seeds and confidence; planted wrong exponents (k − 1, kq), a
wrong limit, a kernel below its plateau, a network stuck at its plateau, a stage 2 that grows
like d.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from checks.check_theorem1 import (ASYMPTOTIC_REGIME, KERNEL_RECIPE, RECORD_BUDGET, Band, build_target, decision_confidence,
                                   degree_band, exponent_verdict, growth_verdict, kernel_plateau_verdict,
                                   limit_fit, limit_verdict, network_below_verdict, one_sided_z,
                                   plateau_allowance, pre_asymptotic, recipe_spec, section5_spec, stage1_limit_verdict,
                                   target_spec)
from checks.estimators import fit_exponent
from checks.evidence import Interval, Verdict

K2_DS, K3_DS = [8, 12, 16, 24], [6, 8, 10, 12]
SEEDS = 4
CONFIDENCE = decision_confidence()


def _sweep(ds, growth, rng, *, sd=0.15, seeds=SEEDS):
    return {d: 3.0 * growth(d) * np.exp(sd * rng.standard_normal(seeds)) for d in ds}


def _verdict(ds, k, kq, growth, rng, **kw):
    fit = fit_exponent(_sweep(ds, growth, rng, **kw), rng=rng, confidence=CONFIDENCE, n_resamples=600)
    claimed, alt = degree_band(ds, k), degree_band(ds, kq)
    return exponent_verdict(fit.decision, claimed=claimed, alternative=Band(alt.low, math.inf, "kq"))[0]


@pytest.mark.parametrize("ds, k, q", [(K2_DS, 2, 2), (K3_DS, 3, 3)])
def test_exponent_rule_supports_the_dimension_count_of_degree_k(ds, k, q):
    rng = np.random.default_rng(11)
    verdicts = [_verdict(ds, k, k * q, lambda d: math.comb(d + k, k), rng, sd=0.05) for _ in range(20)]
    assert verdicts.count(Verdict.SUPPORTED) >= 18


PLANTED = {
    "C(d+k-1,k-1)": lambda d, k, q: math.comb(d + k - 1, k - 1),  # a degree-(k−1) learner: d^{k−1} at finite d
    "d^(k-1)": lambda d, k, q: d ** (k - 1),
    "C(d+kq,kq)": lambda d, k, q: math.comb(d + k * q, k * q),
    "d^kq": lambda d, k, q: d ** (k * q),
}


@pytest.mark.parametrize("ds, k, q, planted", [(K2_DS, 2, 2, p) for p in PLANTED]
                         + [(K3_DS, 3, 3, p) for p in ("C(d+k-1,k-1)", "C(d+kq,kq)", "d^kq")])
def test_exponent_rule_refutes_a_planted_wrong_exponent(ds, k, q, planted):
    # (On d = 6..12 a bare d² has slope 2, inside the d³ band's finite-size reach; the grid tells
    # a degree-2 learner, slope 1.6 there, from a degree-3 one, slope 2.4.)
    rng = np.random.default_rng(12)
    verdicts = [_verdict(ds, k, k * q, lambda d: PLANTED[planted](d, k, q), rng, sd=0.05) for _ in range(20)]
    assert verdicts.count(Verdict.REFUTED) >= 18


def test_exponent_rule_false_failures_stay_within_budget():
    # 1000 true sweeps (n* ∝ C(d+2, 2), noise as large as measured). At the budget (2e-4 a side)
    # 0.4 refutations are expected; 4 or more would happen with probability 8e-4.
    rng = np.random.default_rng(13)
    refuted = sum(_verdict(K2_DS, 2, 4, lambda d: math.comb(d + 2, 2), rng, sd=0.4) is Verdict.REFUTED
                  for _ in range(1000))
    assert refuted <= 3


def test_exponent_rule_is_inconclusive_when_the_interval_meets_both_bands():
    claimed, alt = Band(1.8, 2.4, "d^2"), Band(3.4, math.inf, "d^4")
    assert exponent_verdict(Interval(1.0, 4.0), claimed=claimed, alternative=alt)[0] is Verdict.INCONCLUSIVE
    assert exponent_verdict(Interval(2.5, 3.0), claimed=claimed, alternative=alt)[0] is Verdict.REFUTED


def test_bands_are_finite_size_slopes_on_the_grid():
    band = degree_band(K3_DS, 3)
    # low: halfway between the grid slopes of C(d+2, 2) (1.60) and C(d+3, 3) (2.44): not 3
    assert 1.9 < band.low < 2.1 and 3.3 < band.high < 3.6
    assert degree_band(K3_DS, 9).low > band.high
    assert degree_band(K2_DS, 2).low > 1 and degree_band(K2_DS, 4).low > degree_band(K2_DS, 2).high


def test_pre_asymptotic_features_are_named_by_their_sixth_moment():
    moments = {d: float(build_target(section5_spec(d, seed=1)).feature.moment(6)) for d in (12, 24)}
    assert pre_asymptotic(moments) == [12, 24]  # E p⁶ = 491 and 162 against a Gaussian 15
    quadratic = {d: float(build_target(recipe_spec(KERNEL_RECIPE, d)).feature.moment(6)) for d in (8, 24)}
    assert pre_asymptotic(quadratic) == []  # 45 and 23


def _corr_curve(ns, limit, rng, *, D, sd=0.01, seeds=SEEDS):
    ns = np.repeat(np.asarray(ns, float), seeds)
    return ns, limit - 0.3 * D / ns + sd * rng.standard_normal(ns.size)


def test_limit_rule_supports_the_true_limit_and_refutes_a_wrong_one():
    rng = np.random.default_rng(14)
    D = 325
    ns = D * 2.0 ** np.arange(3, 5.5, 0.5)
    x, y = _corr_curve(ns, 0.957, rng, D=D)
    fit = limit_fit(x, y, scale=D, confidence=CONFIDENCE)
    assert limit_verdict(fit, exact=0.957)[0] is Verdict.SUPPORTED
    assert limit_verdict(fit, exact=1.0)[0] is Verdict.REFUTED  # "corr → 1": the Trap of PAPER.md §7
    assert limit_verdict(fit, exact=0.90)[0] is Verdict.REFUTED
    assert stage1_limit_verdict(fit, exact=1.0, relative_error_at_top=0.03)[0] is Verdict.REFUTED
    # far from the limit, the extrapolation is not trusted
    assert stage1_limit_verdict(fit, exact=1.0, relative_error_at_top=2 * ASYMPTOTIC_REGIME)[0] is Verdict.INCONCLUSIVE


def test_limit_rule_false_failures_stay_within_budget():
    rng = np.random.default_rng(15)
    D = 325
    ns = D * 2.0 ** np.arange(3, 5.5, 0.5)
    refuted = 0
    for _ in range(1000):
        x, y = _corr_curve(ns, 0.957, rng, D=D, sd=0.03)
        refuted += limit_verdict(limit_fit(x, y, scale=D, confidence=CONFIDENCE), exact=0.957)[0] is Verdict.REFUTED
    assert refuted <= 3  # 0.4 expected at the budget; see the exponent test


def test_kernel_rule_refutes_a_kernel_below_its_plateau():
    z = one_sided_z(RECORD_BUDGET, 8)
    assert kernel_plateau_verdict([0.05, 0.06], [0.01, 0.01], allowance=0.1, z=z)[0] is Verdict.SUPPORTED
    assert kernel_plateau_verdict([-0.05, 0.0], [0.01, 0.01], allowance=0.1, z=z)[0] is Verdict.SUPPORTED
    # planted: a "kernel" that learned the degree-4 part (the network's risk)
    assert kernel_plateau_verdict([-0.21, -0.2], [0.01, 0.01], allowance=0.1, z=z)[0] is Verdict.REFUTED


def test_network_rule_refutes_a_network_stuck_at_the_plateau():
    z = one_sided_z(RECORD_BUDGET, 8)
    assert network_below_verdict([-0.2, -0.21], [0.01, 0.02], z=z)[0] is Verdict.SUPPORTED
    assert network_below_verdict([0.05, 0.1], [0.01, 0.01], z=z)[0] is Verdict.REFUTED
    assert network_below_verdict([-0.2, 0.1], [0.01, 0.01], z=z)[0] is Verdict.INCONCLUSIVE


def test_plateau_allowance_vanishes_as_d_grows():
    shares = {4: 0.3}
    small, large = plateau_allowance(shares, n=6224, d=24), plateau_allowance(shares, n=16 * 1225, d=48)
    assert 0 < large < small < 0.3
    assert plateau_allowance(shares, n=10 ** 9, d=8) == pytest.approx(0.3)


def test_growth_rule_refutes_a_stage2_that_grows_like_d():
    rng = np.random.default_rng(16)
    ds = [16, 64, 256, 1024]
    flat = fit_exponent(_sweep(ds, lambda d: 1.0, rng, sd=0.3), rng=rng, confidence=CONFIDENCE)
    linear = fit_exponent(_sweep(ds, lambda d: d, rng, sd=0.3), rng=rng, confidence=CONFIDENCE)
    assert growth_verdict(flat.decision)[0] is Verdict.SUPPORTED
    assert growth_verdict(linear.decision)[0] is Verdict.REFUTED


def test_target_specs_round_trip_exactly():
    product = {"psi": [[[1, 1], "1"]], "psi_name": "prod_2", "k": 2, "link": ["0", "1/2", "0", "1/4"], "signs_seed": 5}
    for spec in (section5_spec(8, seed=3), recipe_spec(product, 9), recipe_spec(KERNEL_RECIPE, 6)):
        target = build_target(spec)
        assert target_spec(target) == spec
        x = np.random.default_rng(0).standard_normal((16, spec["d"]))
        assert np.allclose(build_target(target_spec(target)).evaluate(x), target.evaluate(x))
    products = build_target(recipe_spec(product, 9))
    assert products.feature.L == 4 and products.k == 2 and products.q == 3  # ⌊9/2⌋ blocks, one coordinate unused
    assert build_target(recipe_spec(KERNEL_RECIPE, 6)).violations() == []
