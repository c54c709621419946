"""Every hypothesis strategy of the project, in one module (STYLE.md: array-api-tests).

Conventions:
- keyword-only arguments, with ``min_*`` / ``max_*`` bounds; impossible combinations raise
  ``InvalidArgument`` at once (when the strategy is built, not when it is drawn);
- valid instances are *built* valid (never filtered with ``assume``): they satisfy every
  assumption of the paper's class, so ``instance.violations() == []``;
- strategies for instances outside the assumptions return :class:`Violator` (the instance and the
  assumption it breaks, a name from ``checks.registry``); ``violator.assumption`` is always in
  ``violator.instance.violations()``.

Exact numbers throughout (``Fraction``), so the exact engines stay in the rationals.

Balanced weights with Σλ² = L exactly come from rational points on the circle λ_a² + λ_b² = 2:
the chord through (1, 1) with slope m meets it again at x(m) = (m² − 2m − 1)/(1 + m²),
y(m) = (1 − 2m − m²)/(1 + m²); for m in [−2, −1/2] both lie in [1/5, 7/5] = [BALANCE_LOW,
BALANCE_HIGH], with the bounds themselves at m = −2 and m = −1/2.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Sequence

import numpy as np
import sympy
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from checks.registry import BALANCED, CENTRED_LINK, HOMOGENEOUS, INFO_EXP_1, MANY_COMPONENTS, NORMALISED, ORTHOGONAL
from theory.features import (
    SINGLE_FEATURE,
    BlockFeature,
    HierarchicalTarget,
    Link,
    MultiFeatureTarget,
    PolynomialFeature,
    QuadraticFeature,
    Weights,
)
from theory.structured import BlockType
from theory.validation import integer_at_least

__all__ = [
    "Violator",
    "FAMILIES",
    "rationals",
    "nonzero_rationals",
    "circle_pairs",
    "balanced_lambdas",
    "spiked_lambdas",
    "rational_orthogonal_matrices",
    "block_types",
    "non_homogeneous_block_types",
    "links",
    "block_features",
    "quadratic_features",
    "orthogonal_features",
    "targets",
    "general_tensor_features",
    "few_component_features",
    "unbalanced_features",
    "unnormalised_features",
    "lower_degree_features",
    "non_orthogonal_features",
    "multi_feature_targets",
    "violators",
    "VIOLATOR_STRATEGIES",
    "CI_EXAMPLES",
    "scaled_examples",
    "polynomial_link_expressions",
    "polynomials",
]

#: The paper's block families (docs/paper.md §1): h_k on directions, products on coordinate blocks,
#: and any homogeneous ψ on a local block of dimension <= k.
FAMILIES = ("hermite", "product", "general")


#: max_examples of the ``ci`` profile; example counts in checks/tiers.py are stated relative to it.
CI_EXAMPLES = 100


def scaled_examples(count: int) -> int:
    """``count`` examples at the ci profile, scaled with the loaded profile (dev, thorough)."""
    from hypothesis import settings

    return max(1, count * settings().max_examples // CI_EXAMPLES)


@dataclass(frozen=True)
class Violator:
    """An instance outside the paper's assumptions, tagged with the assumption it breaks."""

    instance: Any
    assumption: str


def _check_range(name: str, low, high) -> None:
    if low > high:
        raise InvalidArgument(f"min_{name}={low} exceeds max_{name}={high}")


def _check_at_least(name: str, value, bound: int) -> None:
    integer_at_least(name, value, bound, error=InvalidArgument, type_error=InvalidArgument)


# --- numbers ----------------------------------------------------------------------------------

def rationals(*, min_value, max_value, max_denominator: int = 12) -> st.SearchStrategy[Fraction]:
    """Fractions in [min_value, max_value] with denominator <= max_denominator (both ends reachable
    when they are such fractions)."""
    lo, hi = Fraction(min_value), Fraction(max_value)
    _check_range("value", lo, hi)
    _check_at_least("max_denominator", max_denominator, 1)

    @st.composite
    def build(draw):
        q = draw(st.integers(1, max_denominator))
        a, b = -((-lo.numerator * q) // lo.denominator), (hi.numerator * q) // hi.denominator  # ceil, floor
        if a > b:  # no fraction with this denominator inside: fall back to an end
            return draw(st.sampled_from([lo, hi]))
        return Fraction(draw(st.integers(a, b)), q)

    return build()


def nonzero_rationals(*, min_magnitude, max_magnitude, max_denominator: int = 12) -> st.SearchStrategy[Fraction]:
    """± a fraction with magnitude in [min_magnitude, max_magnitude] (> 0)."""
    if Fraction(min_magnitude) <= 0:
        raise InvalidArgument(f"min_magnitude={min_magnitude} must be > 0")
    magnitude = rationals(min_value=min_magnitude, max_value=max_magnitude, max_denominator=max_denominator)
    return st.tuples(st.sampled_from([1, -1]), magnitude).map(lambda t: t[0] * t[1])


# --- weights λ ---------------------------------------------------------------------------------

def _circle_point(m: Fraction) -> tuple[Fraction, Fraction]:
    den = 1 + m * m
    return (m * m - 2 * m - 1) / den, (1 - 2 * m - m * m) / den


def circle_pairs(*, max_denominator: int = 6) -> st.SearchStrategy[tuple[Fraction, Fraction]]:
    """(λ_a, λ_b) > 0 rational with λ_a² + λ_b² = 2 and both in [BALANCE_LOW, BALANCE_HIGH]."""
    slopes = rationals(min_value=Fraction(-2), max_value=Fraction(-1, 2), max_denominator=max_denominator)
    return slopes.map(_circle_point)


def balanced_lambdas(*, min_size: int = 1, max_size: int = 16, signs: bool = True,
                     max_denominator: int = 6) -> st.SearchStrategy[list[Fraction]]:
    """Rational λ_1..λ_L with Σ λ² = L exactly and BALANCE_LOW <= |λ_i| <= BALANCE_HIGH: circle
    pairs and ones, shuffled, with random signs when ``signs``."""
    _check_at_least("min_size", min_size, 1)
    _check_range("size", min_size, max_size)

    @st.composite
    def build(draw):
        L = draw(st.integers(min_size, max_size))
        n_pairs = draw(st.integers(0, L // 2))
        values: list[Fraction] = []
        for _ in range(n_pairs):
            values.extend(draw(circle_pairs(max_denominator=max_denominator)))
        values.extend([Fraction(1)] * (L - 2 * n_pairs))
        values = draw(st.permutations(values))
        if signs:
            flips = draw(st.lists(st.sampled_from([1, -1]), min_size=L, max_size=L))
            values = [s * v for s, v in zip(flips, values)]
        return list(values)

    return build()


def spiked_lambdas(*, min_size: int = 2, max_size: int = 16) -> st.SearchStrategy[Weights]:
    """Unbalanced exact weights: raw (R, 1, ..., 1) with R >= 8L, normalised (Σ λ² = L): the small
    ones are below BALANCE_LOW and the spike above BALANCE_HIGH."""
    _check_at_least("min_size", min_size, 2)
    _check_range("size", min_size, max_size)

    @st.composite
    def build(draw):
        L = draw(st.integers(min_size, max_size))
        R = draw(st.integers(8 * L, 32 * L))
        raw = draw(st.permutations([R] + [1] * (L - 1)))
        return Weights(list(raw)).normalised()

    return build()


# --- rotations --------------------------------------------------------------------------------

def _householder(v: Sequence[int]) -> np.ndarray:
    v = np.array([Fraction(int(c)) for c in v], dtype=object)
    norm2 = sum(c * c for c in v)
    d = len(v)
    eye = np.array([[Fraction(int(i == j)) for j in range(d)] for i in range(d)], dtype=object)
    return eye - 2 * np.outer(v, v) / norm2


def rational_orthogonal_matrices(*, d: int, max_reflections: int = 2, max_entry: int = 3) -> st.SearchStrategy[np.ndarray]:
    """Exactly orthogonal d×d rational matrices: a signed permutation times up to
    ``max_reflections`` Householder reflections with small integer vectors."""
    _check_at_least("d", d, 1)

    @st.composite
    def build(draw):
        perm = draw(st.permutations(range(d)))
        flips = draw(st.lists(st.sampled_from([1, -1]), min_size=d, max_size=d))
        Q = np.zeros((d, d), dtype=object) + Fraction(0)
        for i, (j, s) in enumerate(zip(perm, flips)):
            Q[i, j] = Fraction(s)
        for _ in range(draw(st.integers(0, max_reflections))):
            v = draw(st.lists(st.integers(-max_entry, max_entry), min_size=d, max_size=d))
            if any(v):
                Q = Q.dot(_householder(v))
        return Q

    return build()


# --- block types ------------------------------------------------------------------------------

def _multi_indices(m: int, k: int) -> list[tuple[int, ...]]:
    if m == 1:
        return [(k,)]
    return [(a,) + rest for a in range(k + 1) for rest in _multi_indices(m - 1, k - a)]


def block_types(*, k: int, families: Sequence[str] = FAMILIES, max_denominator: int = 4) -> st.SearchStrategy[BlockType]:
    """Homogeneous degree-k block polynomials ψ (centred; the feature normalises them): h_k in one
    variable, the product of k coordinates, or a general ψ with random rational He-coefficients
    on |b| = k in m <= k local variables."""
    _check_at_least("k", k, 1)
    unknown = set(families) - set(FAMILIES)
    if unknown or not families:
        raise InvalidArgument(f"families must be a non-empty subset of {FAMILIES}, got {families}")

    @st.composite
    def general(draw):
        m = draw(st.integers(1, k))
        indices = _multi_indices(m, k)
        chosen = draw(st.lists(st.sampled_from(indices), min_size=1, max_size=min(4, len(indices)), unique=True))
        coeff = nonzero_rationals(min_magnitude=Fraction(1, 4), max_magnitude=2, max_denominator=max_denominator)
        return BlockType({b: draw(coeff) for b in chosen})

    options = {"hermite": st.just(BlockType.hermite(k)), "product": st.just(BlockType.product(k)), "general": general()}
    return st.one_of(*[options[f] for f in families])


def non_homogeneous_block_types(*, k: int, max_denominator: int = 4) -> st.SearchStrategy[BlockType]:
    """Degree-k block polynomials with a nonzero part of degree 1..k-1 (never a constant, so
    E ψ = 0): the 'p not homogeneous' breaker. Needs k >= 2."""
    _check_at_least("k", k, 2)

    @st.composite
    def build(draw):
        top = draw(block_types(k=k, max_denominator=max_denominator))
        m = top.local_dim
        j = draw(st.integers(1, k - 1))
        b = draw(st.sampled_from(_multi_indices(m, j)))
        c = draw(nonzero_rationals(min_magnitude=Fraction(1, 4), max_magnitude=1, max_denominator=max_denominator))
        terms = dict(top.terms)
        terms[b] = c
        return BlockType(terms, name=f"{top.name}+lower")

    return build()


# --- links ------------------------------------------------------------------------------------

def links(*, min_degree: int = 1, max_degree: int = 3, max_denominator: int = 4,
          info_exponent_one: bool = True, centred: bool = True) -> st.SearchStrategy[Link]:
    """g = Σ_{n<=q} a_n He_n with exactly degree q in [min_degree, max_degree]; valid by default:
    a_0 = 0 (E g = 0) and |a_1| in [1/4, 2] (E g' = a_1 != 0). ``info_exponent_one=False`` sets
    a_1 = 0 (needs q >= 2); ``centred=False`` draws a_0 != 0."""
    _check_at_least("min_degree", min_degree, 1)
    _check_range("degree", min_degree, max_degree)
    if not info_exponent_one and max_degree < 2:
        raise InvalidArgument("a link with E g' = 0 and degree >= 1 needs max_degree >= 2")
    low = min_degree if info_exponent_one else max(2, min_degree)
    small = rationals(min_value=-1, max_value=1, max_denominator=max_denominator)
    nonzero = nonzero_rationals(min_magnitude=Fraction(1, 4), max_magnitude=2, max_denominator=max_denominator)

    @st.composite
    def build(draw):
        q = draw(st.integers(low, max_degree))
        a = [Fraction(0)] * (q + 1)
        a[0] = Fraction(0) if centred else draw(nonzero)
        for n in range(2, q):
            a[n] = draw(small)
        if q >= 2:
            a[q] = draw(nonzero)
        a[1] = draw(nonzero) if info_exponent_one else Fraction(0)
        return Link.from_he_coefficients([sympy.Rational(c.numerator, c.denominator) for c in a])

    return build()


# --- features in the class ----------------------------------------------------------------------

def block_features(*, k: int, min_L: int = 1, max_L: int = 8, min_d: int = 1, max_d: int | None = None,
                   families: Sequence[str] = FAMILIES, rotated: bool = False,
                   max_denominator: int = 6) -> st.SearchStrategy[BlockFeature]:
    """Valid block features: ψ from ``block_types``, balanced normalised λ, and
    max(L·m, min_d) <= d <= min(max_d, 2kL) (so L >= d/(2k), 'L = Θ(d)'; ``min_d = max_d`` fixes
    d). Blocks sit on a random set of coordinates, or (``rotated``, ψ in one variable only) on the
    rows of a rational orthogonal matrix."""
    _check_at_least("k", k, 1)
    _check_at_least("min_L", min_L, 1)
    _check_at_least("min_d", min_d, 1)
    _check_range("L", min_L, max_L)
    if rotated:
        families = [f for f in families if f == "hermite"] or ["hermite"]
    if max_d is not None:
        _check_range("d", min_d, max_d)
        if max_d < min_L:
            raise InvalidArgument(f"max_d={max_d} is too small for min_L={min_L} blocks")
    # L = Θ(d): d <= 2kL needs L >= ceil(min_d / 2k) blocks.
    L_low = max(min_L, -(-min_d // (2 * k)))
    if L_low > max_L or (max_d is not None and L_low > max_d):
        raise InvalidArgument(f"d >= {min_d} needs L >= {L_low} blocks (d <= 2kL with k = {k}); "
                              f"max_L={max_L} allows fewer")

    @st.composite
    def build(draw):
        psi = draw(block_types(k=k, families=families))
        m = psi.local_dim
        L_cap = max_L if max_d is None else min(max_L, max_d // m)
        if L_cap < L_low:  # ψ's blocks do not fit: h_k in one variable always does
            psi, m = BlockType.hermite(k), 1
            L_cap = max_L if max_d is None else min(max_L, max_d)
        L = draw(st.integers(L_low, L_cap))
        lam = draw(balanced_lambdas(min_size=L, max_size=L, max_denominator=max_denominator))
        d_hi = 2 * k * L if max_d is None else min(max_d, 2 * k * L)
        d = draw(st.integers(max(L * m, min_d), max(L * m, min_d, d_hi)))
        if rotated and m == 1:
            Q = draw(rational_orthogonal_matrices(d=d))
            return BlockFeature(psi, lam, d=d, directions=Q[:L][:, None, :])
        coords = draw(st.permutations(range(d)))[: L * m]
        return BlockFeature(psi, lam, d=d, coordinates=np.array(coords, dtype=np.int64).reshape(L, m))

    return build()


def quadratic_features(*, min_d: int = 1, max_d: int = 6) -> st.SearchStrategy[QuadraticFeature]:
    """Valid quadratic features xᵀAx − tr A: A = Q diag(λ) Qᵀ / sqrt(2L) with balanced rational
    λ, rank L in [ceil(d/4), d] and Q rationally orthogonal."""
    _check_at_least("min_d", min_d, 1)
    _check_range("d", min_d, max_d)

    @st.composite
    def build(draw):
        d = draw(st.integers(min_d, max_d))
        L = draw(st.integers(-(-d // 4), d))
        lam = draw(balanced_lambdas(min_size=L, max_size=L))
        Q = draw(rational_orthogonal_matrices(d=d))
        return QuadraticFeature.from_spectrum(lam, Q)

    return build()


def orthogonal_features(*, k: int, max_L: int = 8, min_d: int = 1, max_d: int | None = None) -> st.SearchStrategy:
    """Any valid feature of the orthogonal class of degree k (block features; quadratic for k = 2),
    with min_d <= d <= max_d."""
    options = [block_features(k=k, max_L=max_L, min_d=min_d, max_d=max_d)]
    if k == 2:
        options.append(quadratic_features(min_d=min_d, max_d=max_d or max(min_d, 2 * max_L)))
    return st.one_of(*options)


def targets(*, k: int, d: int | None = None, q: int | None = None, max_L: int = 8, max_d: int | None = None,
            max_q: int = 3) -> st.SearchStrategy[HierarchicalTarget]:
    """Valid targets h = g∘p (orthogonal class, E g = 0, E g' != 0) with feature degree ``k``;
    ``d`` fixes the input dimension (else d <= max_d), ``q`` the link's degree (else q <= max_q).
    A fixed d needs L >= d/(2k) blocks, so max_L grows to allow it."""
    if d is not None:
        if max_d is not None:
            raise InvalidArgument(f"give d={d} or max_d={max_d}, not both")
        _check_at_least("d", d, 1)
        max_L = max(max_L, -(-d // (2 * k)))
        features = orthogonal_features(k=k, max_L=max_L, min_d=d, max_d=d)
    else:
        features = orthogonal_features(k=k, max_L=max_L, max_d=max_d)
    if q is not None:
        _check_at_least("q", q, 1)
        link_strategy = links(min_degree=q, max_degree=q)
    else:
        link_strategy = links(max_degree=max_q)
    return st.builds(HierarchicalTarget, features, link_strategy)


# --- violators --------------------------------------------------------------------------------

def general_tensor_features(*, k: int = 3, min_d: int = 2, max_d: int = 5, max_entry: int = 4) -> st.SearchStrategy[Violator]:
    """p = <A, He_k(x)> normalised, A with random integer entries (Section 6 conjecture); tagged
    ORTHOGONAL (not given on orthogonal subspaces). Needs k >= 3 (every quadratic is in the class)."""
    _check_at_least("k", k, 3)
    _check_range("d", min_d, max_d)

    @st.composite
    def build(draw):
        d = draw(st.integers(min_d, max_d))
        entries = draw(st.lists(st.integers(-max_entry, max_entry), min_size=d**k, max_size=d**k))
        if not any(entries):
            entries[0] = 1  # built nonzero, not filtered
        A = np.array(entries, dtype=object).reshape((d,) * k)
        return Violator(PolynomialFeature.from_tensor(A), ORTHOGONAL)

    return build()


def few_component_features(*, k: int, max_L: int = 2, max_d: int = 64) -> st.SearchStrategy[Violator]:
    """L = O(1) blocks in d > 2kL dimensions (L too small for d); tagged MANY_COMPONENTS."""
    _check_at_least("max_L", max_L, 1)
    if max_d <= 2 * k:
        raise InvalidArgument(f"max_d={max_d} leaves no room for d > 2kL (k={k})")

    @st.composite
    def build(draw):
        L = draw(st.integers(1, min(max_L, (max_d - 1) // (2 * k))))
        psi = draw(block_types(k=k))
        d = draw(st.integers(2 * k * L + 1, max_d))
        lam = draw(balanced_lambdas(min_size=L, max_size=L))
        return Violator(BlockFeature.coordinate(psi, lam, d=d), MANY_COMPONENTS)

    return build()


def _coordinate_violator(psi_strategy, lam_strategy, assumption: str, *, k: int | None = None) -> st.SearchStrategy[Violator]:
    """ψ on consecutive coordinate blocks with drawn weights, tagged with ``assumption``."""
    return st.builds(lambda psi, lam: Violator(BlockFeature.coordinate(psi, lam, k=k), assumption),
                     psi_strategy, lam_strategy)


def unbalanced_features(*, k: int, max_L: int = 12) -> st.SearchStrategy[Violator]:
    """A spike λ_1 >> the rest (normalised, exact); tagged BALANCED."""
    return _coordinate_violator(block_types(k=k), spiked_lambdas(min_size=2, max_size=max(2, max_L)), BALANCED)


def unnormalised_features(*, k: int, max_L: int = 8) -> st.SearchStrategy[Violator]:
    """Balanced λ times a rational c != 1 (Σ λ² = c² L); tagged NORMALISED."""
    factors = st.sampled_from([Fraction(1, 2), Fraction(3, 4), Fraction(5, 4), Fraction(6, 5)])
    scaled = st.tuples(balanced_lambdas(min_size=1, max_size=max_L), factors).map(lambda t: [t[1] * v for v in t[0]])
    return _coordinate_violator(block_types(k=k), scaled, NORMALISED)


def lower_degree_features(*, k: int, max_L: int = 8) -> st.SearchStrategy[Violator]:
    """ψ with lower-degree parts (p not homogeneous); tagged HOMOGENEOUS."""
    return _coordinate_violator(non_homogeneous_block_types(k=k), balanced_lambdas(min_size=1, max_size=max_L),
                                HOMOGENEOUS, k=k)


def non_orthogonal_features(*, k: int, min_d: int = 2, max_d: int = 4) -> st.SearchStrategy[Violator]:
    """p = L^{-1/2} Σ λ_i h_k(<v_i, x>) with unit rational v_i that are not orthogonal; tagged
    ORTHOGONAL (the exact side falls back to the naive expansion)."""
    _check_at_least("min_d", min_d, 2)
    _check_range("d", min_d, max_d)

    @st.composite
    def build(draw):
        d = draw(st.integers(min_d, max_d))
        Q = draw(rational_orthogonal_matrices(d=d))
        t = draw(st.sampled_from([Fraction(3, 5), Fraction(4, 5), Fraction(5, 13), Fraction(12, 13)]))
        s = {Fraction(3, 5): Fraction(4, 5), Fraction(4, 5): Fraction(3, 5),
             Fraction(5, 13): Fraction(12, 13), Fraction(12, 13): Fraction(5, 13)}[t]
        v2 = t * Q[0] + s * Q[1]  # unit, at angle arccos(t) to v1 = Q[0]
        V = np.array([Q[0], v2], dtype=object)
        lam = draw(balanced_lambdas(min_size=2, max_size=2))
        return Violator(BlockFeature.decomposable(V, lam, k), ORTHOGONAL)

    return build()


def multi_feature_targets(*, k: int = 2, max_d: int = 4) -> st.SearchStrategy[Violator]:
    """h = g(p_1, p_2) with two block features on disjoint coordinates and g a product or sum of
    powers; tagged SINGLE_FEATURE."""

    @st.composite
    def build(draw):
        d = draw(st.integers(2, max_d))
        split = draw(st.integers(1, d - 1))
        psi = BlockType.hermite(k)
        p1 = BlockFeature(psi, [1] * split, d=d, coordinates=np.arange(split)[:, None])
        p2 = BlockFeature(psi, [1] * (d - split), d=d, coordinates=np.arange(split, d)[:, None])
        z1, z2 = sympy.symbols("z1 z2")
        g = draw(st.sampled_from([z1 * z2, z1 + z2**2 - 1, z1**2 * z2 + z2]))
        return Violator(MultiFeatureTarget([p1, p2], g, [z1, z2]), SINGLE_FEATURE)

    return build()


def _link_violator(assumption: str, **kwargs) -> st.SearchStrategy[Violator]:
    return links(**kwargs).map(lambda g: Violator(g, assumption))


#: name -> function(k) -> strategy of Violator, one per broken assumption.
VIOLATOR_STRATEGIES = {
    MANY_COMPONENTS: lambda k: few_component_features(k=k),
    BALANCED: lambda k: unbalanced_features(k=k),
    NORMALISED: lambda k: unnormalised_features(k=k),
    HOMOGENEOUS: lambda k: lower_degree_features(k=k),
    ORTHOGONAL: lambda k: non_orthogonal_features(k=k) if k < 3 else st.one_of(
        non_orthogonal_features(k=k), general_tensor_features(k=k, max_d=3)),
    INFO_EXP_1: lambda k: _link_violator(INFO_EXP_1, min_degree=2, info_exponent_one=False),
    CENTRED_LINK: lambda k: _link_violator(CENTRED_LINK, centred=False),
    SINGLE_FEATURE: lambda k: multi_feature_targets(k=k),
}


def violators(*, k: int, assumptions: Sequence[str] | None = None) -> st.SearchStrategy[Violator]:
    """Instances that break one named assumption each (all of them by default). Needs k >= 2 (the
    lower-degree breaker needs a degree below k)."""
    _check_at_least("k", k, 2)
    names = list(VIOLATOR_STRATEGIES) if assumptions is None else list(assumptions)
    unknown = [n for n in names if n not in VIOLATOR_STRATEGIES]
    if unknown or not names:
        raise InvalidArgument(f"unknown assumptions {unknown}; choose from {sorted(VIOLATOR_STRATEGIES)}")
    return st.one_of(*[VIOLATOR_STRATEGIES[n](k) for n in names])


# --- exact algebra: links and polynomials as sympy expressions ------------------------------------

def _sympy_rationals(*, magnitude: int, max_denominator: int, nonzero: bool) -> st.SearchStrategy[sympy.Rational]:
    numbers = (nonzero_rationals(min_magnitude=Fraction(1, max_denominator), max_magnitude=magnitude,
                                 max_denominator=max_denominator) if nonzero
               else rationals(min_value=-magnitude, max_value=magnitude, max_denominator=max_denominator))
    return numbers.map(lambda c: sympy.Rational(c.numerator, c.denominator))


def polynomial_link_expressions(*, max_degree: int, magnitude: int = 4,
                                max_denominator: int = 6) -> st.SearchStrategy[sympy.Expr]:
    """A polynomial g(z) = Σ_m c_m z^m in ``theory.hermite.Z`` of degree exactly 0..max_degree with
    rational c_m, |c_m| <= magnitude (the leading one nonzero by construction)."""
    from theory.hermite import Z

    _check_at_least("max_degree", max_degree, 0)

    @st.composite
    def build(draw):
        degree = draw(st.integers(0, max_degree))
        lower = draw(st.lists(_sympy_rationals(magnitude=magnitude, max_denominator=max_denominator, nonzero=False),
                              min_size=degree, max_size=degree))
        lead = draw(_sympy_rationals(magnitude=magnitude, max_denominator=max_denominator, nonzero=True))
        return sum((c * Z**m for m, c in enumerate([*lower, lead])), sympy.Integer(0))

    return build()


def polynomials(*, max_vars: int, max_degree: int, min_degree: int = 1, max_top_terms: int = 3,
                max_lower_terms: int = 4, magnitude: int = 4, max_denominator: int = 6) -> st.SearchStrategy[tuple[sympy.Expr, tuple[sympy.Symbol, ...], int]]:
    """(f, variables, k): a sparse polynomial in x1..x_d (d in 1..max_vars) of total degree exactly
    k in min_degree..max_degree, with rational coefficients. Its degree-k part is 1..max_top_terms distinct
    monomials with nonzero coefficients (distinct monomials cannot cancel, so the degree is exact);
    the other terms have lower degree."""
    _check_at_least("max_vars", max_vars, 1)
    _check_at_least("max_degree", max_degree, 1)
    _check_at_least("min_degree", min_degree, 1)
    _check_range("degree", min_degree, max_degree)
    _check_at_least("max_top_terms", max_top_terms, 1)

    @st.composite
    def build(draw):
        d = draw(st.integers(1, max_vars))
        k = draw(st.integers(min_degree, max_degree))
        xs = sympy.symbols(f"x1:{d + 1}")
        index_tuples = lambda degree: st.lists(st.integers(0, d - 1), min_size=degree, max_size=degree).map(
            lambda picks: tuple(sorted(picks)))
        coefficient = lambda nonzero: _sympy_rationals(magnitude=magnitude, max_denominator=max_denominator,
                                                       nonzero=nonzero)
        top = draw(st.lists(index_tuples(k), min_size=1, max_size=max_top_terms, unique=True))
        f = sum((draw(coefficient(True)) * sympy.Mul(*[xs[i] for i in m]) for m in top), sympy.Integer(0))
        for _ in range(draw(st.integers(0, max_lower_terms))):
            m = draw(index_tuples(draw(st.integers(0, k - 1))))
            f += draw(coefficient(False)) * sympy.Mul(*[xs[i] for i in m])
        return sympy.expand(f), xs, k

    return build()
