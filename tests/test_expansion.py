"""theory.expansion: the multivariate HermiteExpansion as exact identities (fast, exact tests)."""
from __future__ import annotations

from math import factorial

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.strategies import polynomials, rational_orthogonal_matrices
from theory import (
    HermiteExpansion,
    InexactCoefficientError,
    MultiIndexError,
    NegativeDegreeError,
    NotOrthogonalError,
    NotPolynomialError,
    UnknownSymbolError,
    UnsupportedCoefficientError,
    VariableMismatchError,
    compose,
    expand,
    gaussian_expectation,
    h_basis,
    he_basis,
    rotate,
)
from theory.hermite import Z, he

x, y, w = sympy.symbols("x y w")
polys = polynomials(max_vars=3, max_degree=4)


def test_small_example_by_hand():
    # x^2 y + 3x - y^3 = He_2(x) He_1(y) + 3 He_1(x) - 2 He_1(y) - He_3(y)
    e = expand(x**2 * y + 3 * x - y**3, [x, y])
    assert e.he_terms() == {(2, 1): 1, (1, 0): 3, (0, 1): -2, (0, 3): -1}
    assert e.coefficient((2, 1)) == sympy.sqrt(2)       # on h_2(x) h_1(y)
    assert e.coefficient((0, 3)) == -sympy.sqrt(6)
    assert e.coefficient((5, 0)) == 0
    assert e.norm2() == 2 + 9 + 4 + 6
    assert e.degree_energies() == [0, 13, 0, 8]
    assert e.degree == 3 and len(e) == 4
    assert gaussian_expectation(x**4 * y**2 + 7, [x, y]) == 3 + 7


@settings(max_examples=40)
@given(polys)
def test_parseval_and_round_trip(drawn):
    f, xs, _ = drawn
    e = expand(f, xs)
    # Parseval: Σ c_α^2 α! equals E f^2 computed independently from monomial moments
    assert e.norm2() == gaussian_expectation(sympy.expand(f * f), xs)
    assert sum(e.degree_energies()) == e.norm2()
    assert e.mean() == gaussian_expectation(f, xs)
    assert sympy.expand(e.to_expr() - f) == 0
    assert sum(e.coefficient_squared(a) for a in e.he_terms()) == e.norm2()


@settings(max_examples=30)
@given(polys)
def test_projections_idempotent_orthogonal_complete(drawn):
    f, xs, _ = drawn
    e = expand(f, xs)
    D = e.degree
    parts = [e.project(j) for j in range(D + 1)]
    for j, part in enumerate(parts):
        assert part.project(j) == part                       # idempotent
        assert e.project_le(j).project_le(j) == e.project_le(j)
        for i in range(j):
            assert parts[i].inner(part) == 0                # mutually orthogonal
        assert e.project_le(j) + e.project_gt(j) == e        # complementary
        assert e.project_lt(j) + part == e.project_le(j)
        assert e.project_ge(j) == e.project_gt(j) + part
        assert part.norm2() == e.degree_energies()[j]
    assert sum(parts[1:], parts[0]) == e                    # complete
    assert e.project(D + 1).is_zero and e.project_lt(0).is_zero


@settings(max_examples=30)
@given(polys, polys, st.fractions(-3, 3, max_denominator=5), st.fractions(-3, 3, max_denominator=5))
def test_linearity(first, second, a, b):
    f, xs, _ = first
    g, ys, _ = second
    variables = tuple(sympy.symbols("x1:4"))  # both live in x1..x3
    a, b = sympy.Rational(a.numerator, a.denominator), sympy.Rational(b.numerator, b.denominator)
    lhs = expand(sympy.expand(a * f + b * g), variables)
    rhs = a * expand(f, variables) + b * expand(g, variables)
    assert lhs == rhs
    assert expand(f, variables) - expand(f, variables) == expand(0, variables)


@settings(max_examples=25)
@given(polynomials(max_vars=2, max_degree=3), polynomials(max_vars=2, max_degree=3))
def test_linearisation_product_against_direct_multiplication(first, second):
    variables = tuple(sympy.symbols("x1:3"))
    f, g = first[0], second[0]
    assert expand(f, variables) * expand(g, variables) == expand(sympy.expand(f * g), variables)
    assert expand(f, variables).inner(expand(g, variables)) == gaussian_expectation(sympy.expand(f * g), variables)


def test_orthonormal_basis():
    variables = (x, y)
    alphas = [(a, b) for a in range(4) for b in range(3)]
    for alpha in alphas:
        basis = h_basis(alpha, variables)
        assert basis.norm2() == 1
        assert basis.coefficient(alpha) == 1
        assert he_basis(alpha, variables).norm2() == factorial(alpha[0]) * factorial(alpha[1])
        for beta in alphas:
            if beta != alpha:
                assert basis.inner(h_basis(beta, variables)) == 0
    # the He polynomial itself expands to one coefficient sqrt(α!) on h_α
    poly = he(3, x) * he(2, y)
    assert expand(poly, variables).coefficient((3, 2)) == sympy.sqrt(12)


@settings(max_examples=20)
@given(polynomials(max_vars=3, max_degree=3), rational_orthogonal_matrices(d=3))
def test_rotation_preserves_norm_and_energies(drawn, U):
    f, _, _ = drawn
    variables = tuple(sympy.symbols("x1:4"))
    e, r = expand(f, variables), rotate(f, variables, U)
    assert r.norm2() == e.norm2()
    assert r.degree_energies() == e.degree_energies()     # each P_j space is invariant
    substituted = f.subs(dict(zip(variables, U * sympy.Matrix(variables))), simultaneous=True)
    assert r == expand(sympy.expand(substituted), variables)


def test_rotation_with_radicals_and_errors():
    R = sympy.Matrix([[1, -1], [1, 1]]) / sympy.sqrt(2)
    f = x**3 * y + 2 * x**2 - y
    r = rotate(f, (x, y), R)
    assert r.degree_energies() == expand(f, (x, y)).degree_energies()
    with pytest.raises(NotOrthogonalError):
        rotate(f, (x, y), sympy.Matrix([[1, 1], [0, 1]]))
    with pytest.raises(ValueError, match="2x2"):
        rotate(f, (x, y), sympy.eye(3))


def test_compose_against_substitution():
    p = (he(2, x) + he(2, y)) / 2 + x * y
    g = Z**3 - 2 * Z + sympy.Rational(1, 3)
    h = compose(g, Z, p, (x, y))
    assert h == expand(sympy.expand(g.subs(Z, p)), (x, y))
    assert h.degree == 6


def test_irrational_coefficients_stay_exact():
    p = (he(3, x) + he(3, y)) / sympy.sqrt(12)  # L = 2, k = 3: E p^2 = 1
    e = expand(p, (x, y))
    assert e.norm2() == 1
    h = compose(Z + Z**2, Z, p, (x, y))
    assert h.domain.is_AlgebraicField or h.domain.is_QQ
    assert h.norm2() == gaussian_expectation(sympy.expand((p + p**2) ** 2), (x, y))


def test_variables_may_include_unused_symbols_and_order_matters():
    e = expand(x**2, (x, y, w))
    assert e.coefficient((2, 0, 0)) == sympy.sqrt(2)
    assert expand(x**2, (y, x)).coefficient((0, 2)) == sympy.sqrt(2)
    assert expand(sympy.Poly(x**2 + y, y, x), (x, y)) == expand(x**2 + y, (x, y))
    assert expand(e, (x, y, w)) is e


@pytest.mark.parametrize("bad, error", [
    (x * y, UnknownSymbolError),
    (sympy.exp(x), NotPolynomialError),
    (1 / x, NotPolynomialError),
    (sympy.Abs(x), NotPolynomialError),
    (0.5 * x, InexactCoefficientError),
    (sympy.pi * x, UnsupportedCoefficientError),
    (sympy.I * x, UnsupportedCoefficientError),
])
def test_expand_errors_name_the_assumption(bad, error):
    with pytest.raises(error):
        expand(bad, (x,))
    with pytest.raises(error):
        gaussian_expectation(bad, (x,))


def test_alpha_and_order_errors():
    e = expand(x * y, (x, y))
    with pytest.raises(MultiIndexError, match="length 1"):
        e.coefficient((1,))
    with pytest.raises(MultiIndexError):
        e.coefficient((1, 1, 0))
    with pytest.raises(NegativeDegreeError):
        e.coefficient((-1, 1))
    with pytest.raises(NegativeDegreeError):
        e.project(-1)
    with pytest.raises(TypeError):
        e.coefficient((1.0, 1))
    with pytest.raises(VariableMismatchError):
        e.inner(expand(x, (x, w)))
    with pytest.raises(TypeError):
        expand(x, ("x",))
    with pytest.raises(ValueError, match="repeated"):
        expand(x, (x, x))
    with pytest.raises(ValueError, match="empty"):
        expand(1, ())


def test_from_coefficients_constructors():
    e = HermiteExpansion.from_h_coefficients({(1, 0): 1, (0, 2): 1}, (x, y))
    assert e.norm2() == 2
    assert e.coefficient((0, 2)) == 1
    assert e.he_coefficient((0, 2)) == 1 / sympy.sqrt(2)
    he_form = HermiteExpansion.from_he_coefficients({(1, 0): 1, (0, 2): 3}, (x, y))
    assert he_form.to_expr() == sympy.expand(x + 3 * (y**2 - 1))
    assert (he_form / 3).he_coefficient((0, 2)) == 1
