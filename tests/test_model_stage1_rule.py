"""The decision rule of ``lemma1.stage1`` (checks/check_model.py) can fail: on the same stage-1
runs it SUPPORTS the true limit P_{<=k} h and REFUTES planted wrong limits (off by a multiple of p,
or by a constant), and it REFUTES stage 1 run with σ1 of degree k − 1. Plus the rule's parts:
the binomial refutation count, the distribution-free median interval, the probe verdict."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from checks.check_model import (
    LEMMA1_BUDGET,
    RATE_CONSTANT,
    Stage1Runs,
    break_verdict,
    LIMIT_CORR_FACTOR,
    check_target,
    median_order_interval,
    n_grid_for_resolution,
    nearest_limit_with_corr,
    refutation_count,
    run_stage1_coordinates,
    stage1_bound_verdict,
    stage1_operating,
    stage1_reference,
)
from checks.evidence import Verdict
from checks.tiers import SIZES
from model import polynomial_space_dim, theory_widths

RESOLUTION = 0.1


@pytest.fixture(scope="module")
def small_case():
    """k = 2, d = 4 (D = 15): 8 seeds on a 2-point grid, the true runs and σ1 of degree 1."""
    target = check_target(2, 4, np.random.default_rng(5))
    reference = stage1_reference(target)
    grid = n_grid_for_resolution(reference, resolution=RESOLUTION, points=2)
    seeds = list(range(1000, 1008))
    runs = run_stage1_coordinates(target, reference, n_grid=grid, seeds=seeds, m1=2 * reference.dimension)
    low = run_stage1_coordinates(target, reference, n_grid=grid, seeds=seeds, m1=2 * reference.dimension, sigma1_degree=1)
    return reference, runs, low


@pytest.mark.training
def test_the_true_limit_is_supported(small_case):
    reference, runs, _ = small_case
    decision = stage1_bound_verdict(reference, runs, resolution=RESOLUTION)
    assert decision.verdict is Verdict.SUPPORTED, decision.measured
    assert decision.measured["resolved"]


@pytest.mark.training
@pytest.mark.parametrize("factor", [2.0, 4.0])
def test_a_limit_off_by_a_multiple_of_p_is_refuted(small_case, factor):
    reference, runs, _ = small_case
    # the wrong claim: ĝ -> P_{<=k} h + δ·p, with ‖δp‖²/Var h = factor × the rule's resolution
    needed = RESOLUTION * reference.limit_variance / reference.variance
    delta = np.sqrt(factor * needed * reference.variance / np.square(reference.feature[1:]).sum())
    wrong = reference.with_limit(reference.limit + delta * reference.feature)
    assert stage1_bound_verdict(wrong, runs, resolution=RESOLUTION).verdict is Verdict.REFUTED


@pytest.mark.training
def test_a_limit_off_by_a_constant_is_refuted(small_case):
    reference, runs, _ = small_case
    limit = reference.limit.copy()
    limit[0] += np.sqrt(0.3 * reference.limit_variance)  # the constant coordinate h_0 = 1
    assert stage1_bound_verdict(reference.with_limit(limit), runs, resolution=RESOLUTION).verdict is Verdict.REFUTED


@pytest.mark.training
def test_stage_one_with_a_degree_k_minus_one_activation_is_refuted(small_case):
    reference, _, low = small_case
    decision = stage1_bound_verdict(reference, low, resolution=RESOLUTION)
    assert decision.verdict is Verdict.REFUTED
    assert decision.measured["grid"][-1]["runs_above"] == len(low.seeds)


def _synthetic(errors_over_bound, reference, grid):
    """Runs whose exact errors are the given multiples of C·B(n), along the direction of p."""
    errors_over_bound = np.asarray(errors_over_bound, dtype=float)
    S, J = errors_over_bound.shape
    unit = reference.feature / np.sqrt(np.square(reference.feature).sum())
    coords = np.zeros((S, J, reference.dimension))
    for j, n in enumerate(grid):
        scale = np.sqrt(errors_over_bound[:, j] * RATE_CONSTANT * reference.ols_bound(n) * reference.variance)
        coords[:, j] = reference.limit + scale[:, None] * unit
    return Stage1Runs(list(grid), list(range(S)), 1, reference.k, coords, 0.0)


def test_counts_decide_refuted_inconclusive_supported(small_case):
    reference, runs, _ = small_case
    grid = runs.n_grid
    S = 8
    refute_at = refutation_count(S, alpha=LEMMA1_BUDGET / len(grid))
    cases = {
        Verdict.SUPPORTED: [0.5] * S,
        Verdict.INCONCLUSIVE: [0.5] * (S - refute_at + 1) + [1.5] * (refute_at - 1),
        Verdict.REFUTED: [0.5] * (S - refute_at) + [1.5] * refute_at,
    }
    for expected, column in cases.items():
        values = np.column_stack([[0.1] * S] * (len(grid) - 1) + [column])
        assert stage1_bound_verdict(reference, _synthetic(values, reference, grid),
                                    resolution=RESOLUTION).verdict is expected


def test_an_unresolved_grid_cannot_support(small_case):
    reference, runs, _ = small_case
    # the same runs judged at a resolution finer than the grid reaches
    assert stage1_bound_verdict(reference, runs, resolution=RESOLUTION / 10).verdict is Verdict.INCONCLUSIVE


@pytest.mark.parametrize("S,alpha", [(6, 5e-4), (8, 2.5e-4), (10, 1.7e-4), (16, 1e-4)])
def test_refutation_count_is_the_binomial_tail(S, alpha):
    m = refutation_count(S, alpha=alpha)
    p = 1 / RATE_CONSTANT
    assert stats.binom.sf(m - 1, S, p) <= alpha < stats.binom.sf(m - 2, S, p)


def test_refutation_needs_enough_seeds():
    assert refutation_count(4, alpha=5e-4) == 5  # 4 seeds can never refute at this budget


def test_median_interval_covers():
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(2000):
        values = rng.standard_cauchy(10)  # heavy tails: order statistics do not care
        interval = median_order_interval(values)
        hits += interval.low <= 0.0 <= interval.high
    assert interval.confidence >= 0.95
    # 2000 draws: the coverage estimate has sd ~0.005; 5 sd below the stated coverage is a failure
    assert hits / 2000 >= interval.confidence - 0.025


def test_probe_verdicts():
    assert break_verdict(Verdict.REFUTED, gap=0.4, detectable_above=0.05, slack=0.01)[0] is Verdict.SUPPORTED
    assert break_verdict(Verdict.SUPPORTED, gap=0.4, detectable_above=0.05, slack=0.01)[0] is Verdict.REFUTED
    assert break_verdict(Verdict.SUPPORTED, gap=0.01, detectable_above=0.05, slack=0.01)[0] is Verdict.INCONCLUSIVE
    # an error below its exact gap would be a bug in the bookkeeping, never a SUPPORTED break
    assert break_verdict(Verdict.REFUTED, gap=0.4, detectable_above=0.05, slack=-0.1)[0] is Verdict.INCONCLUSIVE


def test_reference_is_exact_for_the_check_target():
    reference = stage1_reference(check_target(2, 3, np.random.default_rng(0)))
    assert reference.dimension == polynomial_space_dim(3, 2)
    assert reference.error(reference.limit) == 0.0
    # corr computed from coordinates equals the exact theory value
    assert float(reference.corr(reference.limit)) == pytest.approx(reference.population_corr, rel=1e-12)


# ---- at the quick tier's configuration (issue 12 items 2-4) -------------------------------------

QUICK = SIZES["model"]["quick"]


@pytest.fixture(scope="module")
def quick_k2():
    """lemma1.stage1 at k = 2 exactly as the quick tier runs it: d, m1, seeds, grid, resolution."""
    k = 2
    d = QUICK["d_by_k"][k]
    target = check_target(k, d, np.random.default_rng(11))
    reference = stage1_reference(target)
    resolution = QUICK["claim_resolution"][k]
    grid = n_grid_for_resolution(reference, resolution=resolution, points=QUICK["grid_points"])
    m1 = max(theory_widths(d, k, 0.5)[0], reference.dimension)
    seeds = list(range(2000, 2000 + QUICK["seeds"]))
    return reference, run_stage1_coordinates(target, reference, n_grid=grid, seeds=seeds, m1=m1), resolution


def test_nearest_limit_has_the_planted_corr():
    reference = stage1_reference(check_target(2, 4, np.random.default_rng(1)))
    wrong = nearest_limit_with_corr(reference)
    assert float(reference.corr(wrong)) == pytest.approx(LIMIT_CORR_FACTOR * reference.population_corr, rel=1e-12)
    # nearest: ‖c‖²·sin²(θ' − θ) from the claimed limit
    theta, theta_alt = np.arccos(reference.population_corr), np.arccos(LIMIT_CORR_FACTOR * reference.population_corr)
    expected = reference.limit_variance * np.sin(theta_alt - theta) ** 2 / reference.variance
    assert float(reference.error(wrong)) == pytest.approx(expected, rel=1e-9)


@pytest.mark.training
def test_quick_configuration_refutes_a_limit_with_corr_0_8_rho(quick_k2):
    reference, runs, resolution = quick_k2
    # one planted wrong claim on the real runs: "stage 1 converges to the nearest limit of corr 0.8·ρ"
    wrong = reference.with_limit(nearest_limit_with_corr(reference))
    assert stage1_bound_verdict(wrong, runs, resolution=resolution).verdict is Verdict.REFUTED
    # as a rate over repeated draws at the run's spread (the check's operating characteristic)
    oc = stage1_operating(reference, runs, resolution=resolution, rng=np.random.default_rng(4), draws=200)
    assert oc.power.rate >= 0.9, oc.summary()           # 1.0 in the quick run


@pytest.mark.training
def test_quick_configuration_keeps_the_true_limit(quick_k2):
    reference, runs, resolution = quick_k2
    assert stage1_bound_verdict(reference, runs, resolution=resolution).verdict is Verdict.SUPPORTED
    oc = stage1_operating(reference, runs, resolution=resolution, rng=np.random.default_rng(5), draws=200)
    # the budget is 5e-4: 200 draws at the budget see 0.1 refutations
    assert oc.false_failure.count <= 1, oc.summary()
