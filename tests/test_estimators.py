"""Estimators: thresholds on a grid, exponents with intervals (and their coverage), data collapse."""
from __future__ import annotations

import math

import numpy as np
import pytest

from checks.estimators import (BELOW_GRID, NOT_REACHED, REACHED, CensoredThresholdError, Threshold,
                               collapse_profile, collapse_score, dimension_slope, fit_exponent,
                               log_factor_slope, threshold_n)


def test_threshold_interpolates_in_log_n():
    ns = 2.0 ** np.arange(4, 12)
    values = np.log2(ns) / 12  # linear in log n: interpolation is exact
    t = threshold_n(ns, values, 0.5)
    assert t.status == REACHED and math.isclose(t.n_star, 2.0 ** 6, rel_tol=1e-12)
    t = threshold_n(ns, values, 7.5 / 12)
    assert math.isclose(t.n_star, 2.0 ** 7.5, rel_tol=1e-12) and t.bracket == (128.0, 256.0)


def test_threshold_on_a_smooth_curve_is_within_the_grid_step():
    ns = np.geomspace(10, 1e5, 13)
    n_true = 1234.0
    values = ns / (ns + n_true)  # reaches 1/2 exactly at n_true
    t = threshold_n(ns, values, 0.5)
    ratio = ns[1] / ns[0]
    assert t.status == REACHED and 1 / ratio < t.n_star / n_true < ratio
    assert abs(math.log(t.n_star / n_true)) < 0.05  # the interpolation does much better than a grid step


def test_threshold_censoring_and_sustained_crossing():
    ns = [10, 20, 40, 80, 160]
    assert threshold_n(ns, [0.1, 0.2, 0.3, 0.4, 0.45], 0.5).status == NOT_REACHED
    assert threshold_n(ns, [0.6, 0.7, 0.8, 0.9, 0.95], 0.5).status == BELOW_GRID
    assert threshold_n(ns, [0.1, 0.6, 0.7, 0.8, 0.4], 0.5).status == NOT_REACHED  # fell back at the end
    early_spike = threshold_n(ns, [0.1, 0.6, 0.2, 0.3, 0.9], 0.5)
    assert early_spike.status == REACHED and early_spike.bracket == (80.0, 160.0)
    falling = threshold_n(ns, [1.0, 0.8, 0.4, 0.2, 0.1], 0.5, direction="decreasing")
    assert falling.bracket == (20.0, 40.0)


@pytest.mark.parametrize("ns, values, match", [
    ([10, 5, 20], [0, 1, 2], "strictly increasing"), ([0, 5, 20], [0, 1, 2], "positive"),
    ([1, 2], [0.0, math.nan], "finite"), ([1, 2, 3], [0, 1], "equal-length"),
])
def test_threshold_rejects_bad_grids(ns, values, match):
    with pytest.raises(ValueError, match=match):
        threshold_n(ns, values, 0.5)


def _synthetic(ds, gamma, seeds, sd, rng, constant=3.0):
    return {d: constant * d ** gamma * np.exp(sd * rng.standard_normal(seeds)) for d in ds}


def test_fit_recovers_a_planted_exponent():
    rng = np.random.default_rng(1)
    fit = fit_exponent(_synthetic([8, 12, 16, 24], 2.0, 4, 0.05, rng), rng=rng)
    assert abs(fit.gamma - 2.0) < 0.2
    assert fit.decision.low <= fit.gamma <= fit.decision.high
    assert fit.decision.low <= min(fit.bootstrap.low, fit.t_interval.low)
    assert np.allclose(fit.line([8, 24]) / np.exp(np.array(fit.mean_log_n)[[0, 3]]), 1, atol=0.2)


def test_exact_power_law_gives_a_zero_width_interval():
    fit = fit_exponent({d: [5.0 * d ** 3] * 3 for d in (6, 8, 10, 12)}, rng=np.random.default_rng(0))
    assert math.isclose(fit.gamma, 3.0, rel_tol=1e-12)
    assert fit.decision.high - fit.decision.low < 1e-9 and fit.lack_of_fit_rms < 1e-12


@pytest.mark.parametrize("seeds", [3, 5])
def test_decision_interval_covers_at_least_its_confidence(seeds):
    # 400 synthetic sweeps with normal log-errors: the hull's coverage must be >= 90% (it is a
    # union of a t-interval, exact under this model, and the bootstrap); 400 draws put a 90%
    # interval's empirical coverage below 0.86 with probability ~0.3%.
    rng = np.random.default_rng(7)
    covered = sum(fit_exponent(_synthetic([8, 12, 16, 24], 2.0, seeds, 0.2, rng), rng=rng,
                               confidence=0.9, n_resamples=300).decision.contains(2.0) for _ in range(400))
    assert covered / 400 >= 0.86


def test_fit_refuses_censored_thresholds_and_too_few_ds():
    thresholds = {d: [Threshold(10.0 * d, REACHED), Threshold(math.nan, NOT_REACHED)] for d in (4, 8, 16)}
    with pytest.raises(CensoredThresholdError, match=r"\(4, not-reached\)"):
        fit_exponent(thresholds, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=">= 3 values of d"):
        fit_exponent({4: [1.0], 8: [2.0]}, rng=np.random.default_rng(0))
    fit = fit_exponent({d: [Threshold(10.0 * d, REACHED)] for d in (4, 8, 16)}, rng=np.random.default_rng(0))
    assert math.isclose(fit.gamma, 1.0) and math.isinf(fit.t_interval.high)  # one seed: no t-interval


def test_reference_slopes_approach_the_degree():
    assert dimension_slope([6, 8, 10, 12], 3) < 2.6  # strongly biased at small d
    assert 2.9 < dimension_slope([1000, 2000, 4000], 3) < 3.0
    assert dimension_slope([6, 8, 10, 12], 6) > 4.0
    assert 3.3 < log_factor_slope([6, 8, 10, 12], 3) < 3.6  # one log factor adds ~ 1 / log d
    assert math.isclose(log_factor_slope([6, 8], 2, log_power=0.0), 2.0)


def test_collapse_finds_the_planted_scaling():
    gamma0 = 2.0
    curves = {}
    for d in (8, 12, 16, 24):
        ns = np.geomspace(d ** 2 / 8, d ** 2 * 8, 12)
        curves[d] = (ns, 1 / (1 + (d ** gamma0 / ns)))
    assert collapse_score(curves, gamma0) < 1e-3
    assert collapse_score(curves, 3.0) > 0.1
    gammas = np.linspace(1, 4, 31)
    scores, best = collapse_profile(curves, gammas)
    assert abs(best - gamma0) < 0.11 and scores.shape == (31,)


def test_collapse_with_no_overlap_is_nan():
    curves = {8: ([1, 2, 3], [0, 1, 2]), 64: ([1e6, 2e6, 3e6], [0, 1, 2])}
    assert math.isnan(collapse_score(curves, 0.0))
    with pytest.raises(ValueError, match=">= 2 values of d"):
        collapse_score({8: ([1, 2], [0, 1])}, 1.0)


def test_isotonic_fit_pools_violators_and_steadies_the_threshold():
    from checks.estimators import isotonic

    assert list(isotonic([1, 3, 2, 4, 0, 5])) == [1, 2.25, 2.25, 2.25, 2.25, 5]
    assert list(isotonic([5, 3, 4, 1], increasing=False)) == [5, 3.5, 3.5, 1]
    ns = [10, 20, 40, 80, 160]
    dip = [0.1, 0.5, 0.95, 0.6, 0.97]  # one noisy run late in the grid
    assert threshold_n(ns, dip, 0.9).bracket == (80.0, 160.0)  # raw: the dip moves n* a whole step
    smooth = threshold_n(ns, dip, 0.9, monotone=True)
    assert smooth.status == REACHED and 80 < smooth.n_star < 160 and smooth.bracket == (80.0, 160.0)
    assert threshold_n(ns, [0.1, 0.5, 0.95, 0.93, 0.97], 0.9, monotone=True).bracket == (20.0, 40.0)
