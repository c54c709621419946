"""checks.strategies: each strategy's invariants, its edges reachable, bad arguments refused."""
from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import Phase, find, given, settings
from hypothesis.errors import InvalidArgument

from checks.registry import ORTHOGONAL
from checks.strategies import (
    FAMILIES,
    VIOLATOR_STRATEGIES,
    Violator,
    balanced_lambdas,
    block_features,
    block_types,
    circle_pairs,
    general_tensor_features,
    links,
    non_homogeneous_block_types,
    quadratic_features,
    rational_orthogonal_matrices,
    rationals,
    spiked_lambdas,
    targets,
    violators,
)
from theory.features import BALANCE_HIGH, BALANCE_LOW, MIN_COMPONENTS_PER_DIMENSION


# --- invariants -----------------------------------------------------------------------------------

@settings(max_examples=30)
@given(balanced_lambdas(max_size=12))
def test_balanced_lambdas_are_exact_balanced_and_normalised(lam):
    assert sum(v * v for v in lam) == len(lam)
    assert all(BALANCE_LOW <= abs(v) <= BALANCE_HIGH for v in lam)
    assert all(isinstance(v, Fraction) for v in lam)


@settings(max_examples=20)
@given(circle_pairs())
def test_circle_pairs(pair):
    a, b = pair
    assert a * a + b * b == 2 and BALANCE_LOW <= a <= BALANCE_HIGH and BALANCE_LOW <= b <= BALANCE_HIGH


@settings(max_examples=20)
@given(spiked_lambdas(max_size=10))
def test_spiked_lambdas_are_normalised_and_unbalanced(w):
    assert w.sum_squares() == len(w) and not w.is_balanced()


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_block_features_are_valid(k):
    @settings(max_examples=15)
    @given(block_features(k=k, max_L=6, max_d=4 * k))
    def check(feature):
        assert feature.violations() == []
        assert feature.k == k and feature.L * feature.psi.local_dim <= feature.d <= 4 * k
        assert feature.L >= MIN_COMPONENTS_PER_DIMENSION * feature.d / k
        assert feature.weights.sum_squares() == feature.L

    check()


@settings(max_examples=15)
@given(block_features(k=2, max_L=3, max_d=5, rotated=True))
def test_rotated_block_features_are_exactly_orthogonal(feature):
    assert feature.directions is not None and feature.orthogonality_defect() == 0
    assert feature.violations() == []


@settings(max_examples=15)
@given(quadratic_features(max_d=5))
def test_quadratic_features_are_valid(feature):
    assert feature.violations() == [] and 2 * feature.trace_power(2) == 1


@settings(max_examples=15)
@given(rational_orthogonal_matrices(d=4))
def test_rational_orthogonal_matrices_are_exact(Q):
    G = Q.dot(Q.T)
    assert all(G[i, j] == (1 if i == j else 0) for i in range(4) for j in range(4))


@settings(max_examples=20)
@given(block_types(k=3))
def test_block_types_are_homogeneous_and_centred(psi):
    assert psi.is_homogeneous and psi.degree == 3 and psi.mean == 0 and psi.local_dim <= 3


@settings(max_examples=20)
@given(non_homogeneous_block_types(k=3))
def test_non_homogeneous_block_types(psi):
    assert not psi.is_homogeneous and psi.degree == 3 and psi.mean == 0


@settings(max_examples=20)
@given(links(max_degree=4))
def test_links_are_valid(g):
    assert g.violations() == [] and 1 <= g.q <= 4


@settings(max_examples=10)
@given(targets(k=2, max_L=4, max_d=8))
def test_targets_are_valid(target):
    assert target.violations() == []


@pytest.mark.parametrize("k, d, q", [(2, 8, 2), (3, 5, 3), (2, 1, 1), (3, 13, 1)])
def test_targets_fix_d_k_and_q(k, d, q):
    """A user who wants d = 8 says so (no filtering); the drawn targets stay in the class."""
    @settings(max_examples=8)
    @given(targets(k=k, d=d, q=q))
    def fixed(target):
        assert (target.d, target.k, target.q) == (d, k, q) and target.violations() == []

    fixed()


@pytest.mark.parametrize("k", [2, 3])
def test_violators_break_their_named_assumption(k):
    @settings(max_examples=40)
    @given(violators(k=k))
    def check(v):
        assert isinstance(v, Violator)
        assert v.assumption in v.instance.violations()

    check()


@settings(max_examples=5)
@given(general_tensor_features(k=3, max_d=3))
def test_general_tensor_features(v):
    f = v.instance
    assert v.assumption == ORTHOGONAL and f.norm2() == 1 and f.mean() == 0 and f.k == 3


# --- edges are reachable ----------------------------------------------------------------------------

# Reachability only: generate until found, no shrinking (shrinking costs seconds per edge).
REACH = settings(phases=[Phase.generate], max_examples=1000, database=None)


def _reach(strategy, condition):
    return find(strategy, condition, settings=REACH)


def test_edges_are_reachable():
    assert _reach(block_features(k=3, max_L=4, max_d=12), lambda f: f.L == 1).L == 1
    assert _reach(block_features(k=3, max_L=4, max_d=12), lambda f: f.d == 12).d == 12
    lam = _reach(balanced_lambdas(max_size=4), lambda l: BALANCE_LOW in map(abs, l))
    assert BALANCE_LOW in map(abs, lam)
    lam = _reach(balanced_lambdas(max_size=4), lambda l: BALANCE_HIGH in map(abs, l))
    assert BALANCE_HIGH in map(abs, lam)
    assert _reach(quadratic_features(max_d=5), lambda f: f.d == 5).d == 5
    assert _reach(links(max_degree=4), lambda g: g.q == 4).q == 4
    for family in FAMILIES:
        _reach(block_features(k=2, max_L=3, max_d=6, families=[family]), lambda f: True)
    for name, make in VIOLATOR_STRATEGIES.items():
        assert _reach(make(3), lambda v: True).assumption == name


def test_lemma2_draws_reach_q3_nonlinear_links_and_every_block_family():
    """The exact Lemma 2 property draws (checks.check_lemma2.lemma2_instances): q = 3 links and the
    q = 2 edge are reachable, a link is never linear (g = a·z: gap identically 0, degenerate), and
    each block family (h_k, product, general on k local variables) appears, for every k."""
    from checks.check_lemma2 import lemma2_instances

    for k in (2, 3, 4):
        psi_s, link_s, motif_s = lemma2_instances(k, max_q=3)
        assert _reach(link_s, lambda g: g.q == 3).q == 3
        assert _reach(link_s, lambda g: g.q == 2).q == 2
        assert _reach(psi_s, lambda p: p.name.startswith("prod")).local_dim == k
        assert _reach(psi_s, lambda p: p.local_dim == k and not p.name.startswith(("prod", "h_"))).local_dim == k
        assert len(_reach(motif_s, lambda m: len(m) == 4)) == 4


@settings(max_examples=60)
@given(links(min_degree=2, max_degree=3))
def test_nonlinear_links_are_never_degenerate(g):
    assert 2 <= g.q <= 3  # built with degree >= 2: never g = a·z


def test_polynomials_reach_every_degree_in_range():
    from checks.strategies import polynomials

    for k in (1, 2, 3):
        f, xs, degree = _reach(polynomials(max_vars=3, min_degree=k, max_degree=k), lambda t: len(t[1]) == 3)
        assert degree == k and len(xs) == 3
    with pytest.raises(InvalidArgument):
        polynomials(max_vars=2, min_degree=3, max_degree=2)


# --- impossible arguments raise at once -----------------------------------------------------------

@pytest.mark.parametrize("build", [
    lambda: rationals(min_value=1, max_value=0),
    lambda: balanced_lambdas(min_size=0),
    lambda: balanced_lambdas(min_size=3, max_size=2),
    lambda: spiked_lambdas(min_size=1),
    lambda: block_types(k=2, families=["nope"]),
    lambda: non_homogeneous_block_types(k=1),
    lambda: links(min_degree=3, max_degree=2),
    lambda: links(max_degree=1, info_exponent_one=False),
    lambda: block_features(k=2, min_L=4, max_d=3),
    lambda: general_tensor_features(k=2),
    lambda: targets(k=2, d=8, max_d=8),
    lambda: targets(k=2, q=0),
    lambda: block_features(k=1, min_d=9, max_L=4),
    lambda: violators(k=2, assumptions=["not-an-assumption"]),
])
def test_impossible_arguments_raise(build):
    with pytest.raises(InvalidArgument):
        build()
