"""The kernel.lower-bound rules (checks/check_kernel.py) at the configuration the quick tier runs,
with the noise measured there: a planted wrong claim near the truth is REFUTED at the stated
power, a true claim at the edge of what it allows is not refuted beyond its budget, each as a rate
over repeated draws. Plus the exact pieces of the plateau allowance (issue 12 items 1-3).

The measured spreads are those of the quick tier's base run (base seed 20240101, audit.json of
checks/check_kernel.py): per-seed se of the paired gap, the network's mean gap and se; the pooled
within-d sd of the kernel's log n*.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from checks.check_kernel import (KERNEL_RECIPE, exponent_operating, harmonic_dim, plateau_allowance,
                                 plateau_operating, plateau_refutation_probability, seed_excess_sd,
                                 shares_above, square_radial_share)
from checks.estimators import fit_exponent
from checks.rules import RECORD_BUDGET, Band, decision_confidence, degree_band, one_sided_z
from checks.specs import build_target, recipe_spec
from checks.tiers import SIZES
from model.network import polynomial_space_dim

QUICK = SIZES["theorem1"]["quick"]
# measured in the quick tier's run (see the module docstring)
KERNEL_SES = {"polynomial": [0.00966, 0.00824], "ntk": [0.0216, 0.0187], "random-features": [0.0272, 0.0251]}
NETWORK_MEAN_GAP, NETWORK_SES = -0.2009, [0.0158, 0.0146]
KERNEL_LOG_N_SD = 0.0801


@pytest.fixture(scope="module")
def plateau_case():
    """The quick tier's plateau configuration: d, n = multiple·C(d+2, 2) + n2, the exact allowance, z."""
    d = QUICK["kernel_d"]
    target = build_target(recipe_spec(KERNEL_RECIPE, d))
    above = shares_above(target, 2)
    outside = {j: square_radial_share(np.asarray(target.feature.weights.numerators, float), d) for j in above}
    n = int(round(QUICK["kernel_multiple"] * polynomial_space_dim(d, 2))) + QUICK["n2"]
    allowance = plateau_allowance(above, n=n, d=d, outside_top=outside)
    seeds = QUICK["kernel_seeds"]
    z = one_sided_z(RECORD_BUDGET, (len(KERNEL_SES) + 1) * seeds)
    return allowance, z, seeds


@pytest.mark.parametrize("method", sorted(KERNEL_SES))
def test_plateau_rule_at_the_quick_configuration(plateau_case, method):
    allowance, z, seeds = plateau_case
    ses = KERNEL_SES[method]
    assert len(ses) == seeds
    oc = plateau_operating(ses, alternative_ses=NETWORK_SES, excess_sd=0.0, allowance=allowance, z=z,
                           alternative_mean=NETWORK_MEAN_GAP, rng=np.random.default_rng(12), draws=4000, label=method)
    # planted wrong claim: the kernel reaches the network's error at the same n
    assert oc.power.rate >= 0.95, oc.summary()           # exact 0.986
    # true claim at its edge (mean gap = −allowance): exact rate 5e-5 per method; 4000 draws see ~0.2
    assert oc.false_failure.count <= 3, oc.summary()
    exact = oc.configuration["exact_power"]
    low, high = oc.power.interval
    assert low - 0.01 <= exact <= high + 0.01


def test_plateau_rate_formula_matches_the_rule():
    rng = np.random.default_rng(3)
    ses, allowance, z, mean, excess = np.array([0.02, 0.03]), 0.1, 2.0, -0.12, 0.01
    spread = np.sqrt(ses ** 2 + excess ** 2)
    draws = 20000
    gaps = mean + spread * rng.standard_normal((draws, 2))
    simulated = np.mean(np.any(gaps + z * ses < -allowance, axis=1))
    exact = plateau_refutation_probability(mean, ses, excess_sd=excess, allowance=allowance, z=z)
    assert simulated == pytest.approx(exact, abs=4 * math.sqrt(exact * (1 - exact) / draws))


def test_seed_excess_sd_is_the_spread_beyond_test_noise():
    assert seed_excess_sd({"a": [0.0, 0.0]}, {"a": [0.1, 0.1]}) == 0.0
    spread = seed_excess_sd({"a": [0.0, 1.0], "b": [0.0, 1.0]}, {"a": [0.0, 0.0], "b": [0.0, 0.0]})
    assert spread == pytest.approx(math.sqrt(0.5))


@pytest.fixture(scope="module")
def exponent_case():
    """The quick tier's kernel-exponent configuration: ds, seeds, n grid, bands."""
    ds = list(QUICK["kernel_exponent_ds"])
    mults = QUICK["kernel_multiples"]
    grid = {d: (min(mults) * polynomial_space_dim(d, 4), max(mults) * polynomial_space_dim(d, 4)) for d in ds}
    claimed, low = degree_band(ds, 4), degree_band(ds, 2)
    return ds, grid, claimed, Band(-math.inf, low.high, "d^2")


def _fit_at(ds, seeds, slope, sd, rng):
    """A fit of per-seed n* on the real grid (used only for its ds, seeds and sd)."""
    centre = {d: 0.9 * polynomial_space_dim(d, 4) for d in ds}
    return fit_exponent({d: list(centre[d] * np.exp(sd * rng.standard_normal(seeds))) for d in ds}, rng=rng,
                        confidence=decision_confidence())


def test_exponent_rule_at_the_quick_configuration(exponent_case):
    ds, grid, claimed, alternative = exponent_case
    rng = np.random.default_rng(20)
    fit = _fit_at(ds, QUICK["kernel_exponent_seeds"], 4, KERNEL_LOG_N_SD, rng)
    oc = exponent_operating(fit, grid, k=2, kq=4, claimed=claimed, alternative=alternative, rng=rng,
                            confidence=decision_confidence(), draws=300)
    # planted wrong claim: the kernel's n* grows like the degree-k space (exponent k, not kq)
    assert oc.power.rate >= 0.85, oc.summary()           # 0.96 at the measured spread
    # true claim (n* ∝ C(d+4, 4)): refuted at most at the budget 2e-4; 300 draws see ~0.06
    assert oc.false_failure.count <= 2, oc.summary()


def _sym(t):
    return sum(np.transpose(t, p) for p in itertools.permutations(range(4))) / 24


@pytest.mark.parametrize("d", [4, 6])
def test_square_radial_share_is_the_trace_part(d):
    """Against a numerical projection of sym(M⊗M) on the trace tensors sym(I⊗A), A symmetric."""
    lam = np.array([(-1) ** i for i in range(d)], float)
    S = _sym(np.einsum("ab,cd->abcd", np.diag(lam), np.diag(lam))).ravel()
    basis = []
    for i in range(d):
        for j in range(i, d):
            A = np.zeros((d, d))
            A[i, j] = A[j, i] = 1
            basis.append(_sym(np.einsum("ab,cd->abcd", np.eye(d), A)).ravel())
    B = np.array(basis).T
    coef, *_ = np.linalg.lstsq(B, S, rcond=None)
    assert float(np.sum((B @ coef) ** 2) / np.sum(S ** 2)) == pytest.approx(square_radial_share(lam, d), rel=1e-9)
    assert square_radial_share(lam, d) == pytest.approx(4 / (d + 2) ** 2)


def test_square_radial_share_refuses_weights_with_an_h2_piece():
    with pytest.raises(ValueError, match="Σλ = 0"):
        square_radial_share([1, 1, -1], 3)


def test_harmonic_dims_add_up():
    for d in (3, 8, 24):
        assert sum(harmonic_dim(d, j) for j in (4, 2, 0)) == math.comb(d + 3, 4)


def test_allowance_counts_the_radial_piece_fully():
    # at n >= dim H_4 everything is captured; at small n only the radial piece and n/dim H_4 of the rest
    assert plateau_allowance({4: 0.3}, n=10 ** 9, d=24, outside_top={4: 0.1}) == pytest.approx(0.3)
    small = plateau_allowance({4: 0.3}, n=10, d=24, outside_top={4: 0.1})
    assert small == pytest.approx(0.3 * (0.9 * 10 / harmonic_dim(24, 4) + 0.1))
    with pytest.raises(ValueError):
        plateau_allowance({4: 0.3}, n=10, d=24, outside_top={4: 1.5})
