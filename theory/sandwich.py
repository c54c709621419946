"""Exact least-squares pre-asymptotics and the network's floor for structured targets (issue 13).

What is computed.
- :func:`sandwich_constant`: S = E[r(x)² Σ_{|α|<=k} h_α(x)²], r = h − P_{<=k} h, the constant of
  the asymptotic excess risk S/n of least squares on the degree-<=k polynomials (the quantity
  ``model.ols_sandwich_constant`` sums over all α, only at small d), exactly, at any d.
- :func:`predicted_threshold_n`: the n where the normalised least-squares risk
  S/((n − D − 1)·Var h), D = C(d+k, k), equals ε (the rule of ``lemma1.stage1``).
- :func:`family_sandwich` / :func:`family_threshold`: the same for a :class:`RepeatedBlockFamily`
  as closed forms in L (d = local_dim·L), hence the limit of n_pred(d)/d^k.
- :func:`network_floor`: min over polynomials φ of degree <= ``degree`` of E(h − φ(P_{<=k} h))²/Var h,
  the error no network can pass at finite d when stage 1 is perfect (ĝ = P_{<=k} h).

How (docs/paper.md §8 extended). K_k(x) = Σ_{|α|<=k} h_α(x)² is rotation invariant (the diagonal of the
reproducing kernel of the degree-<=k polynomials), and in the rotated coordinates (block-local
coordinates y_i plus free ones) it is [v^{<=k}] of the product, over the blocks and the free
coordinates, of Σ_c h_c(y)² v^{|c|}. With E_i(t, w; y) = Σ_b F_i(t; b) h_b(y) w^{|b|} (so exp(t p) = Π_i E_i(t, 1)
and P_{<=k} exp(t p) = [w^{<=k}] Π_i E_i), the residual of exp(t p) is [w^{>k}] Π_i E_i. The
marker w is kept in the ring Q × Q[w]/(w^{k+1}) ("evaluate at w = 1", "truncate"), in which
[w^{>k}] = full − Σ_{j<=k} truncated: a ring, so products over blocks stay products. Hence

    Σ_{m,m'} E[r_m r_{m'} K_k] t^m s^{m'} / (m! m'!) = (1 − v)^{-d} Π_i (1 + X(a_i t, a_i s)),

with X(t, s) a block series whose coefficients are exact block moments E[A B h_c²]
(A, B components of ψ^r, ψ^{r'}). Taking logs turns the product into power sums
P_{τ,n} = Σ_i a_i^n exactly as in ``theory.structured``; [v^{k−l}](1 − v)^{-d} sums to C(d+k−l, k−l).
So S = Σ_{l<=k} C(d+k−l, k−l)·A_l with A_l a polynomial in the power sums whose coefficients do not
depend on L or d (A_0 = ||P_{>k} h||²): the cost is independent of d, and for a repeated family S
is a closed form in L.

Signs. The law of (p, ||x||²) does not depend on the signs λ_i whenever each block has an
orthogonal map R of its coordinates with ψ∘R = −ψ (ψ = h_k with k odd: y → −y; ψ = y_1⋯y_k: flip
y_1). R preserves the Gaussian and ||x||², so S, Var h and the floor of the §5 target are the
same for every sign draw. In the engine: only even power sums carry nonzero coefficients, and
Σ λ_i^{2r} = L for λ_i = ±1. For He_2 blocks (k = 2) the signs matter (tested).

Validity: features whose blocks are independent (``feature.is_structured``: coordinate blocks,
exactly orthonormal directions, QuadraticFeature), any polynomial link. Exact (sympy numbers);
irrational link coefficients stay symbolic. ``network_floor`` additionally needs P_{<=k} h to be
a sum of single-block functions (checked; true for homogeneous ψ of degree k and q <= 3).
Tested in tests/test_sandwich.py: S against ``model.ols_sandwich_constant`` (all-α sum) to 1e-10
relative on drawn targets with d <= 6 (h_k, product and general blocks, rotated blocks,
quadratic features, k = 1..3 and k off the feature's degree, q <= 3) and the §5 target at
d = 3, 4; A_0 against ||P_{>k} h||²; the floor against the naive expansion exactly (d <= 5).
Cost: building the polynomials takes ~3 s for k = q = 3 (0.2 s for k = 2), once; after that a
value at any d costs the power sums (milliseconds for the §5 target at d = 5000).

Numbers (benchmarks/bench_sandwich.py, ε = 1/10). §5 target (h_3 blocks, g ∝ z³, k = 3, L = d):
S/C_d² = (L⁵ + 195L⁴ + 17948L³ + 716973L² + 12253293L + 72872190)/L², Var h/C_d² =
15(L² + 90L + 3492)/L²; n_pred/d³ → 1/6 + (2/5)/(6ε) = 5/6, within 10% only for d >= 896
(17.2 at d = 16, 4.34 at d = 40, 1.16 at d = 256). The floor with cubic φ is
486(L¹⁰ + ...)/(5(L² + 90L + 3492)(L¹⁰ + ...)) ~ 97.2/d² (7e-3 at d = 16..40, 8e-5 at d = 1024).
k = 2 (He_2 blocks, λ = (1, −1), g = z + z²/2, L = d): n_pred/d² → 13/6, within 10% for d >= 158;
floor (cubic φ) ≈ 2.7/d.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from itertools import product as cartesian
from math import comb, factorial
from typing import Mapping, Sequence

import numpy as np
import sympy

from .hermite import he_product
from .structured import BlockType, PowerSumPolynomial, StructureError, moment, power_terms

__all__ = [
    "SandwichPolynomials",
    "sandwich_polynomials",
    "sandwich_constant",
    "sandwich_parts",
    "predicted_threshold_n",
    "family_sandwich",
    "family_threshold",
    "threshold_limit",
    "threshold_convergence",
    "network_floor",
    "family_floor",
    "floor_moments",
]

MultiIndex = tuple[int, ...]
_ZERO = Fraction(0)


# --- exact local Hermite algebra (one block, Fractions) -----------------------------------------

def _he_multiply(A: Mapping[MultiIndex, Fraction], B: Mapping[MultiIndex, Fraction]) -> dict[MultiIndex, Fraction]:
    """Product of two He-expansions in the block's local coordinates (exact linearisation)."""
    out: dict[MultiIndex, Fraction] = {}
    for a, ca in A.items():
        for b, cb in B.items():
            partial = [((), ca * cb)]
            for ai, bi in zip(a, b):
                partial = [(idx + (deg,), c * coeff) for idx, c in partial for deg, coeff in he_product(ai, bi).items()]
            for idx, c in partial:
                out[idx] = out.get(idx, _ZERO) + c
    return {b: c for b, c in out.items() if c}


def _he_inner(A: Mapping[MultiIndex, Fraction], B: Mapping[MultiIndex, Fraction]) -> Fraction:
    """E[A B] = Σ_b A_b B_b b!."""
    total = _ZERO
    for b, c in A.items():
        other = B.get(b)
        if other:
            total += c * other * _factorial_product(b)
    return total


def _factorial_product(b: MultiIndex) -> int:
    out = 1
    for v in b:
        out *= factorial(v)
    return out


def _multi_indices(m: int, max_degree: int) -> list[MultiIndex]:
    return [c for c in cartesian(range(max_degree + 1), repeat=m) if sum(c) <= max_degree]


# --- the coefficient ring: (w, u) each in Q × Q[.]/(.^{k+1}), v in Q[v]/(v^{k+1}) ---------------
# An element is an object array (k+2, k+2, k+1): w and u indices 0..k are truncated degrees, index
# k+1 is the "full" (w = 1) component; v is the degree of the Christoffel marker.

def _zeros(shape) -> np.ndarray:
    return np.full(shape, _ZERO, dtype=object)


def _box_multiply(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    """Truncated product of two coefficient boxes of one shape (degrees beyond the box dropped)."""
    out = _zeros(X.shape)
    for index in zip(*np.nonzero(X)):
        target = tuple(slice(i, None) for i in index)
        source = tuple(slice(0, n - i) for i, n in zip(index, X.shape))
        out[target] += X[index] * Y[source]
    return out


def _ring_multiply(X: np.ndarray, Y: np.ndarray) -> np.ndarray:
    full = X.shape[0] - 1
    truncated = slice(0, full)
    out = _zeros(X.shape)
    # the four components never mix: (full, full), (full, trunc), (trunc, full), (trunc, trunc)
    for wi in (truncated, full):
        for ui in (truncated, full):
            out[wi, ui] = _box_multiply(X[wi, ui], Y[wi, ui])
    return out


def _ring_unit(k: int) -> np.ndarray:
    out = _zeros((k + 2, k + 2, k + 1))
    for wi in (0, k + 1):
        for ui in (0, k + 1):
            out[wi, ui, 0] = Fraction(1)
    return out


def _residual_contraction(X: np.ndarray) -> np.ndarray:
    """[w^{>k} u^{>k}] per v-degree: full·full − full·trunc − trunc·full + trunc·trunc."""
    full = X.shape[0] - 1
    return (X[full, full] - X[full, :full].sum(axis=0) - X[:full, full].sum(axis=0)
            + X[:full, :full].sum(axis=(0, 1)))


# --- series in (t, s) with ring coefficients ---------------------------------------------------

RingSeries = dict[tuple[int, int], np.ndarray]


def _series_multiply(A: RingSeries, B: RingSeries, cap: int) -> RingSeries:
    out: RingSeries = {}
    for (m1, n1), x in A.items():
        for (m2, n2), y in B.items():
            m, n = m1 + m2, n1 + n2
            if m > cap or n > cap:
                continue
            z = _ring_multiply(x, y)
            out[(m, n)] = out[(m, n)] + z if (m, n) in out else z
    return {key: v for key, v in out.items() if np.any(v)}


def _series_scale(A: RingSeries, c: Fraction) -> RingSeries:
    return {key: v * c for key, v in A.items()}


def _series_add(A: RingSeries, B: RingSeries) -> RingSeries:
    out = dict(A)
    for key, v in B.items():
        out[key] = out[key] + v if key in out else v
    return out


@lru_cache(maxsize=32)
def _block_log(psi: BlockType, k: int, q: int) -> dict[tuple[int, int], np.ndarray]:
    """log(1 + X) for one block type with a = 1: {(r, r'): ring element}, r, r' <= q.

    1 + X(t, s) = (1 − v)^{m} Σ_{r,r'} t^r s^{r'}/(r! r'!) E[A_r B_{r'} Σ_{|c|=l} h_c² v^l], with A_r,
    B_r ranging over ψ^r ("full") and P_j ψ^r, j <= k ("truncated").
    """
    m = psi.local_dim
    powers = power_terms(psi, q)
    shape = (k + 2, k + 2, k + 1)
    locals_ = _multi_indices(m, k)
    # component[r][index]: the He-terms of ψ^r (index k+1) or of P_j ψ^r (index j <= k)
    components = []
    for terms in powers:
        comp = {k + 1: dict(terms)}
        for j in range(k + 1):
            comp[j] = {b: c for b, c in terms.items() if sum(b) == j}
        components.append(comp)
    series: RingSeries = {}
    for c in locals_:
        he_c = {c: Fraction(1)}
        weight = Fraction(1, _factorial_product(c))  # h_c² = He_c² / c!
        times = [{i: _he_multiply(comp[i], he_c) for i in comp} for comp in components]
        for r, r2 in cartesian(range(q + 1), repeat=2):
            scale = weight / (factorial(r) * factorial(r2))
            box = series.setdefault((r, r2), _zeros(shape))
            for wi, A in times[r].items():
                if not A:
                    continue
                for ui, B in times[r2].items():
                    value = _he_inner(A, B)
                    if value:
                        box[wi, ui, sum(c)] += scale * value
    # divide by E Σ_c h_c² v^{|c|} = (1 − v)^{-m}: multiply every v-column by (1 − v)^m
    shrink = np.array([Fraction((-1) ** l * comb(m, l)) for l in range(k + 1)], dtype=object)
    for key, box in series.items():
        new = _zeros(shape)
        for l in range(k + 1):
            new[:, :, l:] += box[:, :, l:l + 1] * shrink[: k + 1 - l]
        series[key] = new
    unit = _ring_unit(k)
    if not (series[(0, 0)] == unit).all():
        raise AssertionError("block series at t = s = 0 must be the unit (E[1·1·K] = (1 − v)^{-m})")
    X = {key: v for key, v in series.items() if key != (0, 0) and np.any(v)}
    total: RingSeries = {}
    power = X
    for n in range(1, 2 * q + 1):
        total = _series_add(total, _series_scale(power, Fraction((-1) ** (n + 1), n)))
        power = _series_multiply(power, X, q)
        if not power:
            break
    return {key: v for key, v in total.items() if np.any(v)}


# --- the sandwich as polynomials in the power sums ----------------------------------------------

@dataclass(frozen=True)
class SandwichPolynomials:
    """S = Σ_{m,m'} c_m c_{m'} Σ_{l<=k} C(d+k−l, k−l)·Q[m, m', l](power sums), exactly.

    ``parts[(m, m', l)]`` is a :class:`PowerSumPolynomial`: m! m'! [t^m s^{m'} v^l] of the residual
    contraction of exp(Σ_τ Σ_n P_{τ,n} Y_{τ,n}). Independent of L and d; built once per
    (block types, k, link degree).
    """

    types: tuple[BlockType, ...]
    k: int
    max_power: int
    parts: Mapping[tuple[int, int, int], PowerSumPolynomial]

    def residual_parts(self, link_coefficients: Sequence, power_sums) -> list[sympy.Expr]:
        """[A_0, ..., A_k]: A_l = Σ c_m c_{m'} Q[m, m', l]; A_0 = ||h − P_{<=k} h||²."""
        c = [sympy.sympify(v) for v in link_coefficients]
        if len(c) - 1 > self.max_power:
            raise ValueError(f"link degree {len(c) - 1} exceeds the polynomials' max_power {self.max_power}")
        values = []
        for l in range(self.k + 1):
            total = sympy.Integer(0)
            for m, cm in enumerate(c):
                for m2, cm2 in enumerate(c):
                    poly = self.parts.get((m, m2, l))
                    if cm != 0 and cm2 != 0 and poly is not None:
                        total += cm * cm2 * poly.evaluate(power_sums)
            values.append(_simplify(total))
        return values

    def value(self, link_coefficients: Sequence, power_sums, d) -> sympy.Expr:
        """S at dimension d (an int or a sympy expression)."""
        d = sympy.sympify(d)
        A = self.residual_parts(link_coefficients, power_sums)
        return _simplify(sum((_binomial(d + self.k - l, self.k - l) * A[l] for l in range(self.k + 1)),
                             sympy.Integer(0)))


def _binomial(n: sympy.Expr, j: int) -> sympy.Expr:
    """C(n, j) as a polynomial in n (n may be a symbol)."""
    out = sympy.Integer(1)
    for i in range(j):
        out *= (n - i)
    return sympy.expand(out / factorial(j))


def _simplify(value) -> sympy.Expr:
    value = sympy.sympify(value)
    if value.is_Rational:
        return value
    if value.free_symbols:
        return sympy.factor(sympy.cancel(sympy.expand(value)))
    return sympy.radsimp(sympy.expand(value))


@lru_cache(maxsize=16)
def sandwich_polynomials(types: tuple[BlockType, ...], k: int, max_power: int) -> SandwichPolynomials:
    """The L- and d-independent part of S for blocks of the given types (cached).

    Cost: one exponential of a truncated series in (t, s) over partitions of n <= 2·max_power into
    power sums; seconds for k = 3, max_power = 3 in pure python, independent of d.
    """
    k = _check_k(k)
    q = max(1, int(max_power))
    # Y_{τ,n} = Σ_{r+r'=n} ℓ_{r,r'} t^r s^{r'}: the part of the log that multiplies P_{τ,n}
    Y: dict[tuple[int, int], RingSeries] = {}
    for tau, psi in enumerate(types):
        for (r, r2), value in _block_log(psi, k, q).items():
            Y.setdefault((tau, r + r2), {})[(r, r2)] = value
    keys = sorted(Y)
    unit: RingSeries = {(0, 0): _ring_unit(k)}
    accumulated: dict[tuple, RingSeries] = {}

    def expand_from(position: int, monomial: tuple, running: RingSeries, budget: int) -> None:
        if position == len(keys):
            accumulated[monomial] = running
            return
        tau, n = keys[position]
        term, e = running, 0
        while True:
            expand_from(position + 1, monomial + ((((tau, n), e),) if e else ()), term, budget - e * n)
            e += 1
            if e * n > budget:
                break
            term = _series_scale(_series_multiply(term, Y[(tau, n)], q), Fraction(1, e))
            if not term:
                break

    expand_from(0, (), unit, 2 * q)
    parts: dict[tuple[int, int, int], dict] = {}
    for monomial, series in accumulated.items():
        for (m, m2), element in series.items():
            contracted = _residual_contraction(element)
            for l in range(k + 1):
                if contracted[l]:
                    value = contracted[l] * factorial(m) * factorial(m2)
                    parts.setdefault((m, m2, l), {})[monomial] = sympy.Rational(value.numerator, value.denominator)
    return SandwichPolynomials(tuple(types), k, q, {key: PowerSumPolynomial(v) for key, v in parts.items()})


# --- targets --------------------------------------------------------------------------------------

def _structured_parts(target, k: int):
    feature = target.feature
    if not getattr(feature, "is_structured", False):
        raise StructureError(f"{feature!r} is not in orthogonal block form: the exact sandwich needs "
                             "independent blocks (use model.ols_sandwich_constant at small d)")
    link = target.link.coefficients
    polys = sandwich_polynomials(tuple(feature.block_types()), _check_k(k), max(1, len(link) - 1))
    return polys, link, feature.power_sum, feature.d


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ValueError(f"k must be an int >= 0, got {k!r}")
    return k


def sandwich_parts(target, k: int) -> list[sympy.Expr]:
    """[A_0, ..., A_k] with S = Σ_l C(d+k−l, k−l)·A_l; A_0 = ||P_{>k} h||² (the homoscedastic part
    S ≈ D·A_0), A_{l>=1} the correlation of r² with ||x||²."""
    polys, link, power_sums, _ = _structured_parts(target, k)
    return polys.residual_parts(link, power_sums)


def sandwich_constant(target, k: int) -> sympy.Expr:
    """S = E[(h − P_{<=k} h)² Σ_{|α|<=k} h_α²] exactly, for a HierarchicalTarget whose feature is
    structured (BlockFeature on orthogonal blocks, QuadraticFeature). Any d: the cost does not grow
    with d or L beyond evaluating power sums."""
    polys, link, power_sums, d = _structured_parts(target, k)
    return polys.value(link, power_sums, d)


def _variance(target) -> sympy.Expr:
    mean = target.mean()
    return _simplify(target.norm2() - mean * mean)


def predicted_threshold_n(target, k: int, epsilon) -> sympy.Expr:
    """n with S/((n − D − 1)·Var h) = ε, i.e. n = D + 1 + S/(ε·Var h), D = C(d+k, k): where the
    least-squares excess risk formula of ``lemma1.stage1`` reaches ε (exact; ceil it for a size).
    Valid where that formula is (n > D + 1, Gaussian design, the sandwich regime)."""
    epsilon = _positive(epsilon)
    S = sandwich_constant(target, k)
    D = comb(target.feature.d + k, k)
    return _simplify(D + 1 + S / (epsilon * _variance(target)))


def _positive(epsilon) -> sympy.Expr:
    e = sympy.nsimplify(epsilon) if isinstance(epsilon, float) else sympy.sympify(epsilon)
    if not (e.is_positive and e.is_real):
        raise ValueError(f"epsilon must be a positive number, got {epsilon!r}")
    return e


# --- repeated families: closed forms in L ---------------------------------------------------------

def _family_link_and_sums(family, L):
    return family.link.coefficients, family.power_sums(L)


def family_sandwich(family, k: int, L: sympy.Symbol | int | None = None) -> sympy.Expr:
    """S(L) for a RepeatedBlockFamily at d = local_dim·L (coordinate blocks filling R^d), exact;
    with L a sympy symbol (default) a closed form (a rational function of L, with sqrt(L) only
    where odd power sums survive)."""
    L = sympy.Symbol("L", positive=True, integer=True) if L is None else L
    polys = sandwich_polynomials((family.psi,), _check_k(k), max(1, family.link.q))
    link, sums = _family_link_and_sums(family, L)
    return polys.value(link, sums, family.psi.local_dim * sympy.sympify(L))


def _link_moments(types: tuple[BlockType, ...], link_coefficients: Sequence, power_sums) -> tuple[sympy.Expr, sympy.Expr]:
    """(E h², E h) for h = Σ_m c_m p^m, from the exact moments of p."""
    c = [sympy.sympify(v) for v in link_coefficients]
    moments = {r: moment(types, r).evaluate(power_sums) for r in range(2 * len(c) - 1)}
    second = sum((cm * cn * moments[m + n] for m, cm in enumerate(c) for n, cn in enumerate(c)), sympy.Integer(0))
    first = sum((cm * moments[m] for m, cm in enumerate(c)), sympy.Integer(0))
    return second, first


def _family_variance(family, L) -> sympy.Expr:
    second, first = _link_moments((family.psi,), family.link.coefficients, family.power_sums(L))
    return _simplify(second - first ** 2)


def family_threshold(family, k: int, epsilon, L: sympy.Symbol | int | None = None) -> sympy.Expr:
    """n_pred(L) = D + 1 + S/(ε Var h) for the family at d = local_dim·L (closed form in L)."""
    L = sympy.Symbol("L", positive=True, integer=True) if L is None else L
    d = family.psi.local_dim * sympy.sympify(L)
    S = family_sandwich(family, k, L)
    return _simplify(_binomial(d + k, k) + 1 + S / (_positive(epsilon) * _family_variance(family, L)))


def threshold_limit(family, k: int, epsilon) -> tuple[sympy.Expr, sympy.Expr]:
    """(n_pred(d)/d^k as a closed form in d, its limit d → ∞), d = local_dim·L."""
    d = sympy.Symbol("d", positive=True)
    L = sympy.Symbol("L", positive=True, integer=True)
    ratio = _simplify((family_threshold(family, k, epsilon, L) / (family.psi.local_dim * L) ** k)
                      .subs(L, d / family.psi.local_dim))
    return ratio, sympy.limit(ratio, d, sympy.oo)


def threshold_convergence(family, k: int, epsilon, tolerance=sympy.Rational(1, 10)) -> tuple[sympy.Expr, float]:
    """(limit of n_pred(d)/d^k, d_0): for every real d >= d_0 the ratio is within ``tolerance``
    (relative) of its limit; d_0 is the largest real root of |ratio − limit| = tolerance·limit,
    found exactly from the closed form (sympy real roots of its numerator), 0 if none."""
    ratio, limit = threshold_limit(family, k, epsilon)
    d = next(iter(ratio.free_symbols))
    roots = []
    for side in (1 + tolerance, 1 - tolerance):
        numerator, _ = sympy.fraction(sympy.together(ratio - side * limit))
        roots += [float(r) for r in sympy.Poly(numerator, d).real_roots() if r > 0]
    return limit, max(roots, default=0.0)


# --- the network's floor: min_φ E(h − φ(P_{<=k} h))² ---------------------------------------------

@lru_cache(maxsize=32)
def _projection_parts(psi: BlockType, k: int, q: int) -> tuple[dict[MultiIndex, Fraction], ...]:
    """S_r(y), r = 0..q, exact He-terms with R(u; y) = Σ_r u^r S_r(y) = [degrees 1..k] exp(uψ)/M(u):
    the block's share of P_{<=k} exp(t p) (S_0 = 0). Also checks additivity (see network_floor)."""
    powers = power_terms(psi, q)
    zero = (0,) * psi.local_dim
    M = [powers[r].get(zero, _ZERO) / factorial(r) for r in range(q + 1)]
    inverse = [Fraction(1)] + [_ZERO] * q  # 1/M(u) as a series
    for r in range(1, q + 1):
        inverse[r] = -sum((M[i] * inverse[r - i] for i in range(1, r + 1)), _ZERO)
    parts = []
    for r in range(q + 1):
        acc: dict[MultiIndex, Fraction] = {}
        for r1 in range(1, r + 1):
            weight = inverse[r - r1] / factorial(r1)
            for b, c in powers[r1].items():
                if 1 <= sum(b) <= k and weight:
                    acc[b] = acc.get(b, _ZERO) + weight * c
        parts.append({b: c for b, c in acc.items() if c})
    return tuple(parts)


def _check_additive(types: Sequence[BlockType], k: int, q: int) -> None:
    """P_{<=k} h is a sum of single-block functions when no two active blocks fit in degree k and
    link power q: no r1 + r2 <= q, j1 + j2 <= k with both S_{r1} (degree j1) and S_{r2} (degree j2) nonzero."""
    present = set()
    for psi in types:
        for r, terms in enumerate(_projection_parts(psi, k, q)):
            present |= {(r, sum(b)) for b in terms}
    for (r1, j1), (r2, j2) in cartesian(sorted(present), repeat=2):
        if r1 + r2 <= q and j1 + j2 <= k:
            raise StructureError(
                f"P_<=k h has terms on two blocks at once (powers {r1}+{r2} <= q = {q}, degrees {j1}+{j2} <= k = {k}); "
                "network_floor needs it additive over blocks (homogeneous ψ of degree k with q <= 3 always is)")


@lru_cache(maxsize=32)
def _block_joint_log(psi: BlockType, k: int, q: int, s_cap: int) -> dict[tuple[int, ...], Fraction]:
    """log E[exp(u ψ(y) + Σ_r σ_r S_r(y))] as {(α, e_1..e_q): coefficient}, α <= q, Σe <= s_cap."""
    parts = _projection_parts(psi, k, q)
    bases = [dict(psi.terms)] + [parts[r] for r in range(1, q + 1)]
    zero = (0,) * psi.local_dim
    keys = [key for key in cartesian(*([range(q + 1)] + [range(s_cap + 1)] * q)) if sum(key[1:]) <= s_cap]
    keys.sort(key=sum)
    polys: dict[tuple[int, ...], dict] = {(0,) * (q + 1): {zero: Fraction(1)}}
    G: dict[tuple[int, ...], Fraction] = {}
    for key in keys:
        if key not in polys:
            i = next(i for i, e in enumerate(key) if e)
            previous = key[:i] + (key[i] - 1,) + key[i + 1:]
            polys[key] = _he_multiply(polys[previous], bases[i])
        value = polys[key].get(zero, _ZERO)
        if value and any(key):
            denominator = 1
            for e in key:
                denominator *= factorial(e)
            G[key] = value / denominator

    def multiply(A, B):
        out: dict = {}
        for ka, ca in A.items():
            for kb, cb in B.items():
                kk = tuple(x + y for x, y in zip(ka, kb))
                if kk[0] <= q and sum(kk[1:]) <= s_cap:
                    out[kk] = out.get(kk, _ZERO) + ca * cb
        return {kk: c for kk, c in out.items() if c}

    total: dict = {}
    power = G
    for n in range(1, q + s_cap + 1):
        for kk, c in power.items():
            total[kk] = total.get(kk, _ZERO) + Fraction((-1) ** (n + 1), n) * c
        power = multiply(power, G)
        if not power:
            break
    return {kk: c for kk, c in total.items() if c}


def _bivariate_exp(log_series: Mapping[tuple[int, int], sympy.Expr], caps: tuple[int, int]) -> dict:
    """exp of a series in (t, s) without constant term, truncated at the caps, exact."""
    one = {(0, 0): sympy.Integer(1)}
    total, power = dict(one), one
    for n in range(1, caps[0] + caps[1] + 1):
        new: dict = {}
        for (a1, b1), x in power.items():
            for (a2, b2), y in log_series.items():
                a, b = a1 + a2, b1 + b2
                if a <= caps[0] and b <= caps[1]:
                    new[(a, b)] = new.get((a, b), 0) + x * y
        power = {key: sympy.expand(v / n) for key, v in new.items() if v != 0}
        if not power:
            break
        for key, v in power.items():
            total[key] = total.get(key, 0) + v
    return total


def floor_moments(types: Sequence[BlockType], link_coefficients: Sequence, power_sums, *, k: int,
                  degree: int) -> tuple[dict[tuple[int, int], sympy.Expr], sympy.Expr]:
    """({(m, n): E[p^m (ĝ − E h)^n]} for m <= q, n <= 2·degree, E h) with ĝ = P_{<=k} h, exactly.

    ĝ − E h = Σ_i Σ_r a_i^r β_r S_r(y_i), β_r = Σ_m c_m m!/(m−r)! E[p^{m−r}] (from
    P_{<=k} exp(tp) = Φ(t)(1 + Σ_i R_i)); the joint generating function of (p, ĝ) factorises over
    blocks, and its log is Σ κ_{α,e} t^α s^{|e|} Π_r β_r^{e_r} P_{α+Σ r e_r}.
    """
    types = tuple(types)
    c = [sympy.sympify(v) for v in link_coefficients]
    q = max(1, len(c) - 1)
    s_cap = 2 * degree
    _check_additive(types, k, q)
    p_moments = {r: moment(types, r).evaluate(power_sums) for r in range(2 * q + 1)}
    beta = [sum((c[m] * sympy.Integer(factorial(m) // factorial(m - r)) * p_moments[m - r]
                 for m in range(r, q + 1) if c[m] != 0), sympy.Integer(0)) for r in range(q + 1)]
    mean = sum((cm * p_moments[m] for m, cm in enumerate(c)), sympy.Integer(0))
    log_series: dict[tuple[int, int], sympy.Expr] = {}
    for tau, psi in enumerate(types):
        for key, coefficient in _block_joint_log(psi, k, q, s_cap).items():
            alpha, e = key[0], key[1:]
            weight = sympy.Rational(coefficient.numerator, coefficient.denominator)
            for r, er in enumerate(e, start=1):
                weight *= beta[r] ** er
            if weight == 0:
                continue
            n_power = alpha + sum(r * er for r, er in enumerate(e, start=1))
            slot = (alpha, sum(e))
            log_series[slot] = log_series.get(slot, 0) + weight * sympy.sympify(power_sums((tau, n_power)))
    series = _bivariate_exp({key: sympy.expand(v) for key, v in log_series.items() if v != 0}, (q, s_cap))
    out = {(m, n): sympy.expand(series.get((m, n), 0) * factorial(m) * factorial(n))
           for m in range(q + 1) for n in range(s_cap + 1)}
    return out, _simplify(mean)


def network_floor(target, k: int, degree: int, *, digits: int | None = None) -> sympy.Expr:
    """min over polynomials φ of degree <= ``degree`` of E(h − φ(P_{<=k} h))² / Var h, exactly.

    The best any network of the form f = φ(ĝ) can do when stage 1 is perfect (ĝ = P_{<=k} h):
    the normal equations of φ on the Hankel matrix of exact moments E[ĝ^{i+j}] and E[h ĝ^i]
    (:func:`floor_moments`). Scale invariant in h, so the link is divided by its leading
    coefficient first (keeps the §5 target's irrational C_d out). Valid for structured targets
    with P_{<=k} h additive over blocks (checked; StructureError otherwise). The §5 target:
    the value is the same for every sign draw (see the module docstring).

    ``digits``: evaluate the same formula with the power sums rounded to that many significant
    digits (sympy Floats; the rational structure is kept, only the radicals are rounded). The exact
    final radsimp does not finish for h_2 blocks with an irrational 1/√L (d = 12: > 5 minutes);
    40 digits give the floor to far below any statistical resolution in milliseconds.
    """
    feature = target.feature
    if not getattr(feature, "is_structured", False):
        raise StructureError(f"{feature!r} is not in orthogonal block form")
    exact = feature.power_sum
    if digits is not None and (isinstance(digits, bool) or not isinstance(digits, int) or digits < 15):
        raise ValueError(f"digits must be an int >= 15 (or None for exact), got {digits!r}")
    power_sum = exact if digits is None else (lambda key: sympy.Float(sympy.N(exact(key), digits), digits))
    return _floor(tuple(feature.block_types()), target.link.coefficients, power_sum,
                  k=_check_k(k), degree=degree)


def family_floor(family, k: int, degree: int, L) -> sympy.Expr:
    """:func:`network_floor` for a RepeatedBlockFamily at L (an int; a symbol works but is slow)."""
    return _floor((family.psi,), family.link.coefficients, family.power_sums(L), k=_check_k(k), degree=degree)


def _floor(types, link_coefficients, power_sums, *, k: int, degree: int) -> sympy.Expr:
    if isinstance(degree, bool) or not isinstance(degree, int) or degree < 0:
        raise ValueError(f"degree must be an int >= 0, got {degree!r}")
    c = [sympy.sympify(v) for v in link_coefficients]
    leading = next((v for v in reversed(c) if v != 0), None)
    if leading is None:
        raise ValueError("the link is zero: Var h = 0, no floor to normalise")
    c = [sympy.radsimp(v / leading) for v in c]
    moments, _ = floor_moments(types, c, power_sums, k=k, degree=degree)
    second, mean = _link_moments(tuple(types), c, power_sums)
    variance = _simplify(second - mean ** 2)
    hankel = sympy.Matrix(degree + 1, degree + 1, lambda i, j: moments[(0, i + j)])
    cross = sympy.Matrix([sum((cm * moments[(m, i)] for m, cm in enumerate(c)), sympy.Integer(0))
                          for i in range(degree + 1)])
    if hankel.det() == 0:
        raise ValueError(f"P_<=k h takes too few values for a degree-{degree} φ (singular moment matrix)")
    explained = (cross.T * hankel.LUsolve(cross))[0, 0]
    return _simplify((second - explained) / variance)
