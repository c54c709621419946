"""theory.sandwich: the exact least-squares sandwich S(d) and the network floor, against the
all-α oracle ``model.ols_sandwich_constant`` and the naive expansion (small d), identities
between block kinds, sign invariance, closed forms in L, and clear errors."""
from __future__ import annotations

from math import comb

import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from checks.strategies import block_features, links, quadratic_features
from model.metrics import ols_sandwich_constant
from theory import expand
from theory.features import (
    BlockFeature,
    HierarchicalTarget,
    Link,
    PolynomialFeature,
    RepeatedBlockFamily,
    Weights,
    section5_target,
)
from theory.hermite import Z
from theory.sandwich import (
    family_floor,
    family_sandwich,
    network_floor,
    predicted_threshold_n,
    sandwich_constant,
    sandwich_parts,
    threshold_convergence,
    threshold_limit,
)
from theory.structured import BlockType, StructureError

# The oracle sums Σ_{|α|<=k} ||r h_α||² in float64 over at most a few thousand terms of size O(1)
# to O(10^5): its relative rounding is far below 1e-10 (about 1e-13 observed).
ORACLE_RTOL = 1e-10


def _oracle_sandwich(target: HierarchicalTarget, k: int) -> float:
    h = expand(target.expression(), target.feature.variables)
    terms, values = h.project_gt(k).float_terms("h")
    return ols_sandwich_constant(terms, values, k=k)


def _naive_floor(target: HierarchicalTarget, k: int, degree: int) -> sympy.Expr:
    """min_φ E(h − φ(P_<=k h))²/Var h by the naive expansion (powers of P_<=k h, exact)."""
    xs = target.feature.variables
    h = expand(target.expression(), xs)
    g = h.project_le(k)
    powers = [expand(sympy.Integer(1), xs)]
    for _ in range(2 * degree):
        powers.append(powers[-1] * g)
    hankel = sympy.Matrix(degree + 1, degree + 1, lambda i, j: powers[i].inner(powers[j]))
    cross = sympy.Matrix([h.inner(powers[i]) for i in range(degree + 1)])
    explained = (cross.T * hankel.LUsolve(cross))[0, 0]
    return (h.norm2() - explained) / (h.norm2() - h.mean() ** 2)


small_targets = st.one_of(
    st.builds(HierarchicalTarget, block_features(k=1, max_L=3, max_d=5), links(max_degree=3)),
    st.builds(HierarchicalTarget, block_features(k=2, max_L=3, max_d=6), links(max_degree=2)),
    st.builds(HierarchicalTarget, block_features(k=2, max_L=2, max_d=4, rotated=True), links(max_degree=3)),
    st.builds(HierarchicalTarget, block_features(k=3, max_L=2, max_d=4), links(max_degree=2)),
    st.builds(HierarchicalTarget, quadratic_features(max_d=4), links(max_degree=2)),
)


@settings(max_examples=12, deadline=None)
@given(small_targets, st.sampled_from([None, -1, +1]))
def test_sandwich_equals_all_alpha_oracle(target, k_shift):
    """Drawn targets (h_k, product and general blocks, rotated blocks, quadratic features), at the
    feature's k and one degree off it: the structured S equals the all-α sum."""
    k = max(1, target.k + (k_shift or 0))
    exact = float(sandwich_constant(target, k))
    assert exact == pytest.approx(_oracle_sandwich(target, k), rel=ORACLE_RTOL), (target, k)


@pytest.mark.parametrize("d", [3, 4])
def test_section5_sandwich_equals_oracle_and_literal(d):
    """The §5 target (k = q = 3): against the oracle, and against the closed form in L = d."""
    target = section5_target(d, rng=np.random.default_rng(d))
    exact = sandwich_constant(target, 3)
    assert float(exact) == pytest.approx(_oracle_sandwich(target, 3), rel=ORACLE_RTOL)
    # S(L)/C_d² with C_d² = 1/E p⁶ (Link z³ has C = 1): the closed form evaluated at L = d
    L = sympy.Integer(d)
    closed = (L**5 + 195 * L**4 + 17948 * L**3 + 716973 * L**2 + 12253293 * L + 72872190) / L**2
    assert sympy.simplify(exact * target.feature.moment(6) - closed) == 0


@settings(max_examples=6, deadline=None)
@given(block_features(k=3, max_L=3, max_d=6), links(max_degree=3))
def test_first_part_is_residual_energy(feature, link):
    """A_0 = ||h − P_<=k h||² (the homoscedastic part S ≈ D·A_0), against the engine's spectrum."""
    target = HierarchicalTarget(feature, link)
    k = feature.k
    residual = sum(target.degree_energy(j) for j in range(k + 1, k * link.q + 1))
    assert sympy.simplify(sandwich_parts(target, k)[0] - residual) == 0


def test_section5_law_does_not_depend_on_signs():
    """ψ = h_3 is odd: x_i → −x_i flips a sign and keeps ||x||², so S and the floor agree exactly
    for different sign draws (and equal the all-plus family's closed form)."""
    d = 7
    a = section5_target(d, rng=np.random.default_rng(1))
    b = section5_target(d, rng=np.random.default_rng(2))
    assert not np.array_equal(a.feature.weights.numerators, b.feature.weights.numerators)
    assert sympy.simplify(sandwich_constant(a, 3) - sandwich_constant(b, 3)) == 0
    assert sympy.simplify(network_floor(a, 3, 3) - network_floor(b, 3, 3)) == 0
    family = RepeatedBlockFamily(BlockType.hermite(3), (1,), Link(Z**3))
    assert sympy.simplify(sandwich_constant(a, 3) * a.feature.moment(6) - family_sandwich(family, 3, d)) == 0


def test_quadratic_signs_matter():
    """He_2 is not odd: the law of p, hence S, depends on the signs (the check can fail)."""
    same = RepeatedBlockFamily(BlockType.hermite(2), (1,), Link(Z**2 + Z))
    mixed = RepeatedBlockFamily(BlockType.hermite(2), (1, -1), Link(Z**2 + Z))
    assert family_sandwich(same, 2, 4) != family_sandwich(mixed, 2, 4)


def test_product_blocks_equal_rotated_hermite_pairs():
    """y1·y2 = (He_2(u) − He_2(v))/2 with (u, v) a rotation of (y1, y2): the product family at L
    equals the He_2 family with motif (1, −1) at 2L, both at d = 2L (two block kinds, one value)."""
    link = Link(Z**3 - Z**2 / 2 + Z)
    products = RepeatedBlockFamily(BlockType.product(2), (1,), link)
    pairs = RepeatedBlockFamily(BlockType.hermite(2), (1, -1), link)
    L = sympy.Symbol("L", positive=True, integer=True)
    assert sympy.simplify(family_sandwich(products, 2, L) - family_sandwich(pairs, 2, 2 * L)) == 0


def test_threshold_inverts_the_risk_formula():
    """predicted_threshold_n solves S/((n − D − 1) Var h) = ε exactly (the lemma1.stage1 formula)."""
    target = HierarchicalTarget(BlockFeature.coordinate(BlockType.hermite(2), [1, -1, 1], d=5), Link(Z**3 + Z))
    epsilon = sympy.Rational(1, 20)
    n = predicted_threshold_n(target, 2, epsilon)
    variance = target.norm2() - target.mean() ** 2
    D = comb(5 + 2, 2)
    assert sympy.simplify(sandwich_constant(target, 2) / ((n - D - 1) * variance) - epsilon) == 0


def test_section5_limit_closed_form():
    """n_pred(d)/d³ → 1/3! + lim ||P_>3 h||²/(3! ε Var h) = 1/6 + (2/5)/(6 ε) at the §5 target."""
    family = RepeatedBlockFamily(BlockType.hermite(3), (1,), Link(Z**3))
    epsilon = sympy.Rational(1, 10)
    ratio, limit = threshold_limit(family, 3, epsilon)
    assert limit == sympy.Rational(1, 6) + sympy.Rational(2, 5) / (6 * epsilon)
    d = next(iter(ratio.free_symbols))
    exact_at_16 = predicted_threshold_n(section5_target(16, rng=np.random.default_rng(0)), 3, epsilon) / 16**3
    assert sympy.simplify(ratio.subs(d, 16) - exact_at_16) == 0
    limit_again, d0 = threshold_convergence(family, 3, epsilon)
    assert limit_again == limit
    assert abs(ratio.subs(d, sympy.Integer(int(d0) + 1)) / limit - 1) <= sympy.Rational(1, 10)
    assert abs(ratio.subs(d, sympy.Integer(int(d0) - 1)) / limit - 1) > sympy.Rational(1, 10)


@pytest.mark.parametrize("target, k, degree", [
    (HierarchicalTarget(BlockFeature.coordinate(BlockType.hermite(2), [1, -2], d=3), Link(Z**2 + Z)), 2, 2),
    (HierarchicalTarget(BlockFeature.coordinate(BlockType.product(2), [1, 2], d=5), Link(Z**3 - Z**2 + Z)), 2, 3),
    (section5_target(3, rng=np.random.default_rng(0)), 3, 3),
], ids=["he2-quadratic-link", "products-cubic-link", "section5-d3"])
def test_network_floor_equals_naive(target, k, degree):
    assert sympy.simplify(network_floor(target, k, degree) - _naive_floor(target, k, degree)) == 0


@settings(max_examples=8, deadline=None)
@given(st.one_of(
    st.builds(HierarchicalTarget, block_features(k=2, max_L=3, max_d=4), links(max_degree=3)),
    st.builds(HierarchicalTarget, block_features(k=3, max_L=2, max_d=3), links(max_degree=2)),
    st.builds(HierarchicalTarget, quadratic_features(max_d=3), links(max_degree=2)),
), st.integers(1, 2))
def test_network_floor_equals_naive_on_drawn_targets(target, degree):
    exact = network_floor(target, target.k, degree)
    assert float(exact) == pytest.approx(float(_naive_floor(target, target.k, degree)), rel=1e-12, abs=1e-14)


def test_section5_floor_closed_form_and_rate():
    """The floor of the §5 target (cubic φ) against its closed form in L (computed once with L a
    symbol, 4 minutes), and its fall: d²·floor → 486/5, so ||h − φ(ĝ)|| falls like 1/d."""
    family = RepeatedBlockFamily(BlockType.hermite(3), (1,), Link(Z**3))
    L = sympy.Integer(64)
    numerator = sum(c * L**i for i, c in enumerate(reversed(
        [1, 357, 57843, 5454756, 327213486, 12923526996, 336225916116, 5562259860096, 53116955346744,
         222113616216480, -19559364516000])))
    denominator = sum(c * L**i for i, c in enumerate(reversed(
        [1, 375, 66168, 6984576, 480043260, 22295655324, 707554832040, 15158507141232, 210099643915104,
         1703787891333120, 6147618883214400])))
    closed = 486 * numerator / (5 * (L**2 + 90 * L + 3492) * denominator)
    assert family_floor(family, 3, 3, 64) == closed
    values = {L: family_floor(family, 3, 3, L) for L in (256, 1024, 4096)}
    assert all(0 < v * L**2 < sympy.Rational(486, 5) for L, v in values.items())
    assert values[256] * 256**2 < values[1024] * 1024**2 < values[4096] * 4096**2


def test_errors_name_the_problem():
    general = HierarchicalTarget(PolynomialFeature(sympy.symbols("x0") * sympy.symbols("x1"), d=2), Link(Z))
    with pytest.raises(StructureError, match="orthogonal block form"):
        sandwich_constant(general, 2)
    target = section5_target(3, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="epsilon"):
        predicted_threshold_n(target, 3, 0)
    with pytest.raises(ValueError, match="k must be"):
        sandwich_constant(target, -1)
    # h_3 blocks: ψ³ has a degree-1 part and ψ² a degree-2 part, so z⁵ puts two blocks in degree 3
    quintic = HierarchicalTarget(BlockFeature.coordinate(BlockType.hermite(3), [1, 1, 1]), Link(Z**5 + Z))
    with pytest.raises(StructureError, match="two blocks"):
        network_floor(quintic, 3, 2)


def test_the_numeric_floor_is_the_exact_floor():
    """network_floor(digits=40) evaluates the same formula as the exact one (h_2 blocks, L = 4)."""
    psi = BlockType({(2,): 1}, name="h2")
    feature = BlockFeature.coordinate(psi, Weights.from_signs(np.array([1, -1, -1, 1])), d=8, k=2)
    target = HierarchicalTarget(feature, Link.from_spec(["0", "1", "1/2"]))
    assert float(network_floor(target, 2, 3, digits=40)) == pytest.approx(float(network_floor(target, 2, 3)), rel=1e-12)
    with pytest.raises(ValueError, match="digits"):
        network_floor(target, 2, 3, digits=5)
