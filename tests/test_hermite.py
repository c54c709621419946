"""theory.hermite: the one-dimensional exact algebra (fast, exact tests)."""
from __future__ import annotations

from math import comb, factorial

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.polynomial import hermite_e

from theory.hermite import (
    Z,
    InexactCoefficientError,
    NegativeDegreeError,
    NotPolynomialError,
    UnknownSymbolError,
    double_factorial,
    gaussian_moment,
    h,
    h_product,
    he,
    he_coefficients,
    he_norm2,
    he_product,
    information_exponent,
    link_derivative_mean,
    link_from_he_coefficients,
    link_h_coefficients,
    link_he_coefficients,
    link_mean,
    link_poly,
    link_second_moment,
    monomial_to_he,
)

# He_0..He_9, coefficients lowest degree first (Abramowitz & Stegun 22.3, probabilists' form).
HE_TABLE = {
    0: (1,),
    1: (0, 1),
    2: (-1, 0, 1),
    3: (0, -3, 0, 1),
    4: (3, 0, -6, 0, 1),
    5: (0, 15, 0, -10, 0, 1),
    6: (-15, 0, 45, 0, -15, 0, 1),
    7: (0, -105, 0, 105, 0, -21, 0, 1),
    8: (105, 0, -420, 0, 210, 0, -28, 0, 1),
    9: (0, 945, 0, -1260, 0, 378, 0, -36, 0, 1),
}


@pytest.mark.parametrize("n", sorted(HE_TABLE))
def test_he_literal_table(n):
    assert he_coefficients(n) == HE_TABLE[n]
    assert he(n).all_coeffs() == list(reversed(HE_TABLE[n]))
    assert he(n).domain == sympy.ZZ
    # sympy's probabilists' family agrees (and the physicists' one would not, for n >= 1)
    assert sympy.expand(he(n).as_expr() - sympy.hermite_prob(n, Z)) == 0


def test_numpy_hermite_e_agrees_with_table():
    for n, coeffs in HE_TABLE.items():
        unit = [0] * n + [1]
        assert np.array_equal(hermite_e.herme2poly(unit), np.array(coeffs, dtype=float))


def gauss_moment_by_quadrature(n: int) -> float:
    nodes, weights = hermite_e.hermegauss(n // 2 + 1)  # exact up to degree 2*(n//2+1)-1 >= n
    return float(np.sum(weights * nodes**n) / np.sqrt(2 * np.pi))


@pytest.mark.parametrize("n", range(0, 17))
def test_gaussian_moments_three_ways(n):
    expected = 0 if n % 2 else double_factorial(n - 1)
    assert gaussian_moment(n) == expected
    # independent oracle: Gauss-Hermite quadrature, exact for this degree up to rounding
    assert gauss_moment_by_quadrature(n) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_orthogonality_exact():
    for m in range(8):
        for n in range(8):
            value = link_mean(he(m) * he(n))
            assert value == (factorial(n) if m == n else 0)
            assert he_norm2(n) == factorial(n)
    assert sympy.expand(h(3)**2).subs(Z, 0) == 0  # h_3(0) = 0
    assert link_second_moment(sympy.expand(h(4) * sympy.sqrt(24))) == 24


@settings(max_examples=30)
@given(st.integers(0, 9), st.integers(0, 9))
def test_linearisation_against_direct_multiplication(m, n):
    direct = he(m) * he(n)
    via = sum((he(r) * c for r, c in he_product(m, n).items()), sympy.Poly(0, Z))
    assert direct == via
    assert he_product(m, n) == he_product(n, m)
    assert he_product(m, n)[abs(m - n)] == factorial(min(m, n)) * comb(max(m, n), min(m, n))
    # orthonormal version: squares of coefficients are rational and reproduce E[(h_m h_n)^2]
    squares = sum(c**2 for c in h_product(m, n).values())
    assert sympy.nsimplify(squares) == sympy.Rational(link_mean(direct * direct), factorial(m) * factorial(n))


@pytest.mark.parametrize("n", range(0, 10))
def test_monomial_to_he_inverts(n):
    total = sum((he(m) * c for m, c in monomial_to_he(n).items()), sympy.Poly(0, Z))
    assert total == sympy.Poly(Z**n, Z)


_fractions = st.fractions(min_value=-5, max_value=5, max_denominator=7)


@settings(max_examples=40)
@given(st.lists(_fractions, min_size=1, max_size=8))
def test_link_coefficients_round_trip_and_moments(coefficients):
    g = sum(sympy.Rational(c.numerator, c.denominator) * Z**m for m, c in enumerate(coefficients))
    a = link_he_coefficients(g)
    assert all(c.is_Rational for c in a)
    assert link_from_he_coefficients(a).as_expr() == sympy.expand(g)
    assert link_mean(g) == a[0]
    # Parseval in 1-D: E g^2 = Σ a_n^2 n! = Σ b_n^2
    assert link_second_moment(g) == sum(c**2 * factorial(n) for n, c in enumerate(a))
    # (no nsimplify: it may rewrite an exact rational as radicals)
    assert sympy.simplify(sum(b**2 for b in link_h_coefficients(g)) - link_second_moment(g)) == 0
    # Stein: E g' = a_1 (the decision rule's own check is checks/check_theory.py)
    if len(a) > 1:
        assert link_derivative_mean(g) == a[1]


def test_link_mean_against_quadrature():
    g = Z**6 - 3 * Z**3 + sympy.Rational(1, 2) * Z**2 + 4
    nodes, weights = hermite_e.hermegauss(8)
    f = sympy.lambdify(Z, g, "numpy")
    assert float(link_mean(g)) == pytest.approx(float(np.sum(weights * f(nodes)) / np.sqrt(2 * np.pi)), rel=1e-13)


def test_irrational_link_coefficients_are_exact():
    c = sympy.sqrt(2)
    a = link_he_coefficients(c * Z**3)
    assert a == [0, 3 * c, 0, c]
    assert link_mean(c * Z**2) == c


@pytest.mark.parametrize("g, expected", [
    (Z, 1), (Z**3, 1), (Z**2 - 1, 2), (Z**3 - 3 * Z, 3), (Z**2, 2), (sympy.Integer(5), None),
    (he(4).as_expr() + he(7).as_expr(), 4),
])
def test_information_exponent(g, expected):
    assert information_exponent(g) == expected


@pytest.mark.parametrize("bad, error", [
    (sympy.sin(Z), NotPolynomialError),
    (1 / Z, NotPolynomialError),
    (sympy.sqrt(Z), NotPolynomialError),
    (Z * sympy.Symbol("y"), UnknownSymbolError),
    (0.5 * Z, InexactCoefficientError),
])
def test_link_errors_name_the_assumption(bad, error):
    with pytest.raises(error):
        link_poly(bad)
    with pytest.raises(error):
        link_he_coefficients(bad)


@pytest.mark.parametrize("fn", [he, h, he_coefficients, gaussian_moment, monomial_to_he, he_norm2])
def test_negative_degree_is_an_error(fn):
    with pytest.raises(NegativeDegreeError, match="negative"):
        fn(-1)
    with pytest.raises(NegativeDegreeError):
        he_product(-1, 2)


def test_non_integer_degree_is_a_type_error():
    with pytest.raises(TypeError):
        he(2.0)
    with pytest.raises(TypeError):
        gaussian_moment(True)
