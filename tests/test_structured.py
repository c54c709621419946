"""theory.structured: the block engine against the naive expansion, closed forms, literals."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.strategies import block_features, links, non_homogeneous_block_types, quadratic_features
from theory import compose
from theory.features import BlockFeature, HierarchicalTarget, Link, RepeatedBlockFamily, Weights
from theory.hermite import Z
from theory.numeric import evaluate as evaluate_expansion
from theory.structured import (
    BlockEngine,
    BlockType,
    PowerSumPolynomial,
    StructureError,
    block_engine,
    moment,
)

# Small instances where the naive expansion of g∘p is cheap (d <= 6, degree kq <= 9).
small_features = st.one_of(
    st.integers(1, 3).flatmap(lambda k: block_features(k=k, max_L=3, max_d=5)),
    st.integers(1, 3).flatmap(lambda k: block_features(k=k, max_L=3, max_d=4, rotated=True)),
    quadratic_features(max_d=4),
)


def _naive(target: HierarchicalTarget):
    f, g = target.feature, target.link
    return f.expansion(), compose(g.expr, g.z, f.expansion(), f.variables)


@settings(max_examples=25)
@given(small_features, links(max_degree=3))
def test_structured_equals_naive_expansion(feature, link):
    target = HierarchicalTarget(feature, link)
    p, h = _naive(target)
    for j in range(h.degree + 1):
        assert sympy.simplify(target.degree_energy(j) - h.project(j).norm2()) == 0, j
        assert sympy.simplify(target.feature_inner(j) - h.project(j).inner(p.project(j))) == 0, j
    assert sympy.simplify(target.norm2() - h.norm2()) == 0
    assert sympy.simplify(target.mean() - h.mean()) == 0
    k, s = feature.k, link.derivative_mean
    naive_gap2 = (h.project(k) - p.project(k) * s).norm2()
    assert sympy.simplify(target.stein_gap2() - naive_gap2) == 0


@settings(max_examples=10)
@given(st.integers(2, 3).flatmap(lambda k: non_homogeneous_block_types(k=k)), links(max_degree=2),
       st.lists(st.sampled_from([1, -1, Fraction(1, 2)]), min_size=1, max_size=2))
def test_non_homogeneous_blocks_equal_naive(psi, link, lam):
    """p with lower-degree parts: the engine needs no homogeneity (nor normalisation)."""
    feature = BlockFeature.coordinate(psi, lam)
    target = HierarchicalTarget(feature, link)
    p, h = _naive(target)
    for j in range(h.degree + 1):
        assert sympy.simplify(target.degree_energy(j) - h.project(j).norm2()) == 0
        assert sympy.simplify(target.feature_inner(j) - h.project(j).inner(p.project(j))) == 0
    k, s = feature.k, link.derivative_mean
    assert sympy.simplify(target.stein_gap2() - (h.project(k) - p.project(k) * s).norm2()) == 0


def test_two_block_types_equal_naive():
    """Mixed types in one engine (a product block and an h_2 block, unequal scales)."""
    x = sympy.symbols("x0:3")
    types = (BlockType.product(2), BlockType.hermite(2))
    a, b = sympy.Rational(1, 3), sympy.Rational(-1, 2)
    p = a * x[0] * x[1] + b * (x[2] ** 2 - 1)
    g = [0, 1, sympy.Rational(-1, 2), sympy.Rational(1, 3)]
    power_sums = {(0, r): a**r for r in range(7)} | {(1, r): b**r for r in range(7)}
    engine = BlockEngine(types, max_power=3, max_degree=6)
    h = compose(sum(c * Z**m for m, c in enumerate(g)), Z, p, x)
    for j in range(7):
        value = sum((cm * cn * engine.gram(m, n, j).evaluate(power_sums)
                     for m, cm in enumerate(g) for n, cn in enumerate(g)), sympy.Integer(0))
        assert sympy.simplify(value - h.project(j).norm2()) == 0


@settings(max_examples=15)
@given(small_features, links(max_degree=3))
def test_numeric_projection_equals_naive(feature, link, ):
    target = HierarchicalTarget(feature, link)
    _, h = _naive(target)
    x = np.random.default_rng(0).standard_normal((16, feature.d))
    scale = float(np.max(np.abs(target.evaluate(x)))) + 1.0
    for j in (feature.k - 1, feature.k, h.degree):
        if j < 0:
            continue
        ours = target.evaluate_projection(x, max_degree=j)
        ref = evaluate_expansion(h.project_le(j), x)
        # float64 rounding of O(#terms) products of size <= scale; 1e3 covers terms x degree
        np.testing.assert_allclose(ours, ref, rtol=0, atol=1e3 * np.finfo(float).eps * scale)


def test_full_degree_projection_is_the_target():
    feature = BlockFeature.decomposable_on_coordinates([1, -1, 1, 1, -1, Fraction(7, 5), Fraction(1, 5)], 3)
    target = HierarchicalTarget(feature, Link(Z - Z**2 + 1 + Z**3 / 3))
    x = np.random.default_rng(1).standard_normal((64, feature.d))
    np.testing.assert_allclose(target.evaluate_projection(x, max_degree=9), target.evaluate(x),
                               rtol=0, atol=1e-10 * (1 + np.max(np.abs(target.evaluate(x)))))
    parts = sum(target.evaluate_projection(x, max_degree=j, only_degree=True) for j in range(10))
    np.testing.assert_allclose(parts, target.evaluate(x), rtol=0, atol=1e-9 * (1 + np.max(np.abs(target.evaluate(x)))))


def test_literal_closed_form_k2():
    """By hand: p = L^{-1/2} Σ h_2(x_i), g = z + z² − 1. P_2(p²) = (2√2/√L) p, E g' = 1, so
    P_2 h − p = 2√2 L^{-1/2} p and the gap² is exactly 8/L; P_{<2} h = E g(p) = E p² − 1 = 0."""
    family = RepeatedBlockFamily(BlockType.hermite(2), [1], Link(Z + Z**2 - 1))
    L = sympy.Symbol("L", positive=True)
    assert sympy.simplify(family.closed_form("stein_gap2", L) - 8 / L) == 0
    assert family.closed_form("lower_energy", L) == 0
    assert family.value("stein_gap2", 10**6) == sympy.Rational(8, 10**6)


def test_closed_form_equals_unrolled_instances():
    psi = BlockType({(2, 1): 1, (0, 3): -2})
    motif = [Fraction(1, 5), Fraction(-7, 5), 1]
    family = RepeatedBlockFamily(psi, motif, Link(2 * Z - Z**2 + 1 + Z**3 / 5))
    L = sympy.Symbol("L", positive=True)
    closed = family.closed_form("stein_gap2", L)
    for n in (3, 6, 30):
        direct = family.target(n).stein_gap2()
        assert sympy.simplify(closed.subs(L, n) - direct) == 0
        assert sympy.simplify(family.value("lower_energy", n) - family.target(n).lower_energy()) == 0


def test_large_L_repeated_and_unequal_are_exact():
    """L = 10^6 repeated blocks and L = 10^4 unequal λ: exact rationals (speed: benchmarks/)."""
    big = HierarchicalTarget(BlockFeature(BlockType.hermite(3), Weights.constant(1, 10**6), d=10**6,
                                          coordinates=np.arange(10**6)[:, None]), Link(Z + Z**3))
    assert big.stein_gap2() == RepeatedBlockFamily(BlockType.hermite(3), [1], Link(Z + Z**3)).value("stein_gap2", 10**6)
    rng = np.random.default_rng(3)
    lam = [Fraction(1, 5), Fraction(7, 5)] * 2500 + [1] * 5000
    lam = [s * v for s, v in zip(rng.choice([-1, 1], size=len(lam)), lam)]
    unequal = HierarchicalTarget(BlockFeature.decomposable_on_coordinates(lam, 2), Link(Z + Z**2 - 1))
    value = unequal.stein_gap2()
    assert value.is_Rational or value.is_number
    assert 0 < float(value) < 1


def test_moments_against_naive():
    feature = BlockFeature.products([[0, 1], [2, 3]], [Fraction(1, 5), Fraction(7, 5)], d=4)
    p = feature.expansion()
    for r in range(1, 7):
        assert sympy.simplify(feature.moment(r) - compose(Z**r, Z, p, feature.variables).mean()) == 0


def test_power_sum_polynomial_weights_and_bound():
    poly = PowerSumPolynomial({(((0, 4), 1),): 3, (((0, 3), 2),): -1, (((0, 6), 1),): 2, (): 0})
    parts = poly.by_weight()
    assert list(parts) == [1, 2]
    assert parts[Fraction(1)].as_expr() == 3 * sympy.Symbol("P0_4") - sympy.Symbol("P0_3") ** 2
    # |P_r| <= C^r N^{-r/2} L^{1-r/2}: with C = 1, N = 1 the bound is Σ|coefficients| = 6
    assert poly.balanced_bound(bound=1, norms={0: 1}, min_weight=Fraction(1)) == 6
    with pytest.raises(ValueError):
        poly.balanced_bound(bound=1, norms={0: 1}, min_weight=Fraction(3, 2))


def test_engine_caps_and_bad_types():
    engine = block_engine((BlockType.hermite(2),), 2, 2)
    with pytest.raises(ValueError, match="exceeds"):
        engine.gram(3, 0, 0)
    with pytest.raises(StructureError):
        BlockType({(1,): 0.5})
    with pytest.raises(StructureError):
        BlockType({(1,): 0})
    with pytest.raises(ValueError):
        BlockType({(1,): 1, (1, 1): 1})
    assert moment((BlockType.hermite(1),), 4).evaluate({(0, 2): 1, (0, 4): 0, (0, 1): 0, (0, 3): 0}) == 3
