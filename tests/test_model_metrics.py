"""Metrics and exact polynomial bookkeeping: Hermite coordinates from values, the least-squares
sandwich constant against two exact oracles (sympy products, sympy Gaussian expectation), and the
test-set metrics."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

from model import (
    ModelInputError,
    correlation,
    feature_metrics,
    hermite_coordinates,
    hermite_multi_indices,
    normalised_test_mse,
    ols_excess_risk,
    ols_sandwich_constant,
    sample_inputs,
    squared_distance,
    target_variance,
)
from model_targets import cubic_target, gen, quadratic_target
from theory import gaussian_expectation, h_basis



def _exact_h(target):
    alphas, coefficients = target.h_expansion.float_terms("h")
    return {tuple(a): c for a, c in zip(alphas.tolist(), coefficients)}


@pytest.mark.parametrize("make,d,degree", [(quadratic_target, 3, 4), (cubic_target, 2, 6)])
def test_hermite_coordinates_recover_the_exact_expansion(make, d, degree):
    target = make(d)
    x = sample_inputs(3 * math.comb(d + degree, degree), d, generator=gen(1))
    coords = hermite_coordinates(torch.as_tensor(target.evaluate(x)), x, degree=degree)
    exact = _exact_h(target)
    expected = np.array([exact.get(tuple(a), 0.0) for a in coords.alphas.tolist()])
    np.testing.assert_allclose(coords.coefficients, expected, atol=1e-10, rtol=0)
    assert coords.relative_residual < 1e-12
    assert coords.variance() == pytest.approx(target_variance(target), rel=1e-12)


def test_hermite_coordinates_refuse_what_is_not_in_the_span():
    x = sample_inputs(60, 2, generator=gen(2))
    with pytest.raises(ModelInputError, match="not a polynomial of degree <= 2"):
        hermite_coordinates(torch.sin(x[:, 0]), x, degree=2)
    with pytest.raises(ModelInputError, match="cannot determine"):
        hermite_coordinates(x[:3, 0], x[:3], degree=2)


def _residual(target, k):
    r = target.h_expansion.project_gt(k)
    alphas, coefficients = r.float_terms("h")
    return r, alphas, coefficients


@pytest.mark.parametrize("make,d,k", [(quadratic_target, 2, 2), (cubic_target, 2, 3), (quadratic_target, 3, 1)])
def test_sandwich_constant_equals_two_exact_oracles(make, d, k):
    target = make(d)
    r, alphas, coefficients = _residual(target, k)
    numeric = ols_sandwich_constant(alphas, coefficients, k=k)
    basis = [tuple(int(v) for v in a) for a in hermite_multi_indices(d, k)]
    by_products = sum(float((r * h_basis(a, target.variables)).norm2()) for a in basis)
    leverage = sum(h_basis(a, target.variables).to_expr() ** 2 for a in basis)
    by_expectation = float(gaussian_expectation((r.to_expr() ** 2 * leverage).expand(), target.variables))
    assert numeric == pytest.approx(by_products, rel=1e-12)
    assert numeric == pytest.approx(by_expectation, rel=1e-12)


@given(st.lists(st.floats(-2, 2), min_size=3, max_size=3), st.integers(1, 2))
def test_sandwich_constant_of_a_one_dimensional_residual(coefficients, k):
    # d = 1, r = Σ_j c_j h_{k+j}: S = Σ_{a<=k} ‖r h_a‖², checked against Gauss-Hermite quadrature
    # with enough nodes to be exact for the degree-2(k+2)+2k integrand.
    alphas = np.array([[k + 1 + j] for j in range(3)])
    numeric = ols_sandwich_constant(alphas, np.array(coefficients), k=k)
    nodes, weights = np.polynomial.hermite_e.hermegauss(3 * k + 6)
    weights = weights / weights.sum()
    table = np.stack([np.polynomial.hermite_e.hermeval(nodes, [0] * n + [1]) / math.sqrt(math.factorial(n))
                      for n in range(2 * k + 4)], axis=1)
    r = table[:, k + 1:k + 4] @ np.array(coefficients)
    exact = float(weights @ (r**2 * np.square(table[:, :k + 1]).sum(1)))
    assert numeric == pytest.approx(exact, rel=1e-10, abs=1e-12)


def test_ols_excess_risk_formula_and_its_domain():
    assert ols_excess_risk(30.0, n=40, dimension=9) == pytest.approx(1.0)
    with pytest.raises(ModelInputError, match="n > D \\+ 1"):
        ols_excess_risk(1.0, n=10, dimension=9)


@pytest.mark.training
def test_oracle_least_squares_risk_is_within_the_formula():
    """The premise of the lemma1.stage1 rule: E‖ĝ_OLS − P_{<=k}h‖² <= S/(n − D − 1). 40 seeds of
    the exact-basis OLS at n = 8D; the one-sided 99.9% t lower bound of the seed mean must not exceed
    the formula (exact errors, from coordinates; false-failure probability <= 1e-3 when the
    premise holds)."""
    from scipy import stats

    from model import fit_hermite_oracle, make_dataset

    target, d, k = quadratic_target(3), 3, 2
    D = math.comb(d + k, k)
    r, alphas, coefficients = _residual(target, k)
    bound = ols_excess_risk(ols_sandwich_constant(alphas, coefficients, k=k), n=8 * D, dimension=D)
    exact = _exact_h(target)
    projection = np.array([exact.get(tuple(a), 0.0) for a in hermite_multi_indices(d, k).tolist()])
    errors = []
    for seed in range(40):
        data = make_dataset(target, 8 * D, d=d, generator=gen(100 + seed))
        oracle, _ = fit_hermite_oracle(data.x, data.y, k=k)
        errors.append(float(np.square(oracle.coefficients.numpy() - projection).sum()))
    errors = np.array(errors)
    lower = errors.mean() - stats.t.ppf(0.999, errors.size - 1) * errors.std(ddof=1) / math.sqrt(errors.size)
    assert lower <= bound, (errors.mean(), lower, bound)
    # and the formula is not vacuous: the measured risk is of its order (measured ratio ≈ 0.5)
    assert errors.mean() >= 0.2 * bound, (errors.mean(), bound)


def test_test_set_metrics():
    a = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    assert correlation(a, 2 * a + 1) == pytest.approx(1.0)
    assert correlation(a, -a) == pytest.approx(-1.0)
    assert correlation(a, torch.ones(4, dtype=torch.float64)) == 0.0
    est = squared_distance(a, a + 1)
    assert (est.mean, est.se) == (1.0, 0.0)
    assert normalised_test_mse(a, a + 2, variance=2.0).mean == pytest.approx(2.0)
    with pytest.raises(ModelInputError, match="one length"):
        correlation(a, a[:3])


def test_feature_metrics_of_the_exact_projection():
    target = quadratic_target(4)

    def projection(x):
        return torch.as_tensor(target.evaluate_projection(x, max_degree=2))

    x = sample_inputs(4000, 4, generator=gen(3))
    out = feature_metrics(projection, target, x, k=2)
    assert out["projection_error"]["mean"] == pytest.approx(0.0, abs=1e-20)
    assert out["corr_feature_p"] == out["corr_projection_p"]
    # corr on 4000 test points: sd about (1 - ρ²)/√n ≈ 0.004; 6 sd allowed
    assert abs(out["corr_projection_p"] - target.stage1_population_corr()) < 0.025
