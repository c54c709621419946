"""The end-to-end Theorem 1 check (checks/check_end_to_end.py): its exact window, widths, grids and
reading, and its decision rule at the configurations the tiers run (d grid and seed count from
checks/tiers.py, area "end_to_end"; the per-seed spread of log n* measured in the first quick run,
MEASURED_SD). A planted d⁴ network is refuted at the stated power in the full tier; the true d²
one is not refuted (rates over repeated simulated draws); the quick tier is underpowered and says so."""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy

from checks.check_end_to_end import (ALPHA, PLATEAU_MARGIN, Window, error_slope_interval, kernel_grid, network_widths,
                                     stage1_level, theorem_n, window)
from checks.rules import (FLOOR_MARGIN, RECORD_BUDGET, Band, decision_confidence, degree_band, exponent_rule,
                          exponent_rule_operating, simulate_log_n_star)
from checks.specs import build_target, recipe_spec
from checks.tiers import SIZES
from theory.features import Link

QUICK, FULL = SIZES["end_to_end"]["quick"], SIZES["end_to_end"]["full"]
# Pooled within-d sd of log n* of the network, measured in the first quick run (base seed 20240101, the two
# drawn families: 0.70 and 0.70).
MEASURED_SD = 0.70
CONFIDENCE = decision_confidence()


def test_window_is_the_plateau_over_its_margin_and_closes_above_the_floor():
    win = Window({8: 0.1, 12: 0.05}, {8: 0.8, 12: 0.6})
    assert win.epsilon == pytest.approx(0.6 / PLATEAU_MARGIN) and win.open
    assert not Window({8: 0.2, 12: 0.05}, {8: 0.8, 12: 0.6}).open  # 2 × 0.2 > 0.3


def test_an_odd_link_on_h2_blocks_has_floor_zero_and_an_open_window():
    """P≤2 p³ = a·p + b for ±1-weighted h_2 blocks, so an odd link leaves P≤2 h an affine function of p."""
    recipe = {"psi": [[[2], "1"]], "psi_name": "h2", "k": 2, "link": ["0", "5", "0", "-1"], "signs_seed": 7}
    win = window({d: build_target(recipe_spec(recipe, d)) for d in (8, 12)}, 2)
    assert all(abs(f) < 1e-12 for f in win.floors.values()) and win.open


def test_stage1_level_divides_the_excess_by_the_links_amplification():
    assert stage1_level(0.3, 0.1, Link.from_spec(["0", "1"])) == sympy.Rational(1, 5)
    # g = 5z/2 − 3z³/2: E g' = −2, E g'² = 89/2, so A = 89/8
    assert stage1_level(0.5, 0.0, Link.from_spec(["0", "5/2", "0", "-3/2"])) == sympy.Rational(1, 2) / sympy.Rational(89, 8)
    with pytest.raises(ValueError, match="floor"):
        stage1_level(0.1, 0.2, Link.from_spec(["0", "1"]))


def test_widths_and_theorem_n_follow_alpha():
    assert float(ALPHA) == 0.5
    assert network_widths(16, 2) == (1024, 4) and theorem_n(16, 2) == 16384
    with pytest.raises(ValueError, match="too narrow"):
        network_widths(1, 2)


def test_kernel_grid_stops_at_its_cap():
    grid = kernel_grid(12, 4, top_multiple=2, max_n=QUICK["kernel_max_n"])
    assert grid == sorted(grid) and grid[-1] <= QUICK["kernel_max_n"] and grid[0] == round(math.comb(16, 4) / 8)


def test_error_slope_interval_recovers_a_planted_rate():
    rng = np.random.default_rng(3)
    ds = [8, 12, 16, 24]
    errors = {d: {s: 2.0 * d ** -0.5 * math.exp(0.05 * rng.standard_normal()) for s in range(8)} for d in ds}
    mean, iv = error_slope_interval(errors, confidence=0.99)
    assert iv.contains(-0.5) and iv.high - iv.low < 0.4 and mean == pytest.approx(-0.5, abs=0.1)


def _rates(ds, seeds, gamma, draws=100):
    claimed, band4 = degree_band(ds, 2), degree_band(ds, 4)
    alternative = Band(band4.low, math.inf, "d^4")
    rng = np.random.default_rng(20240101)
    verdicts = []
    for _ in range(draws):
        child = np.random.default_rng(rng.integers(2 ** 63))
        data = simulate_log_n_star(ds, seeds=seeds, gamma=gamma, sd=MEASURED_SD, mean_log_n=math.log(2e4), rng=child)
        verdicts.append(exponent_rule(data, claimed=claimed, alternative=alternative, rng=child, confidence=CONFIDENCE)[0].value)
    return verdicts.count("REFUTED") / draws, verdicts.count("SUPPORTED") / draws


def test_the_full_tier_refutes_a_planted_d4_network_and_keeps_a_true_d2_one():
    from checks.estimators import dimension_slope

    ds, seeds = list(FULL["ds"]), FULL["seeds"]
    power, _ = _rates(ds, seeds, dimension_slope(ds, 4))
    false_failure, supported = _rates(ds, seeds, dimension_slope(ds, 2))
    assert power >= 0.8
    assert false_failure <= 0.03  # 0 expected (budget 2e-4); 3/100 would be far over it
    assert supported >= 0.8  # the SUPPORTED branch is reachable, and usual, for the true claim


def test_the_quick_tier_says_it_is_underpowered():
    ds, seeds = list(QUICK["ds"]), QUICK["seeds"]
    claimed, band4 = degree_band(ds, 2), degree_band(ds, 4)
    oc = exponent_rule_operating(ds, seeds=seeds, sd=MEASURED_SD, mean_log_n=math.log(2e4), true_degree=2,
                                 alternative_degree=4, claimed=claimed, alternative=Band(band4.low, math.inf, "d^4"),
                                 confidence=CONFIDENCE, draws=100, rng=np.random.default_rng(1))
    assert oc.underpowered and oc.false_failure.rate <= RECORD_BUDGET + 0.03
    assert FLOOR_MARGIN == 2
