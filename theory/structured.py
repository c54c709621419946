"""The structured exact engine for P_j(g∘p) on the orthogonal class (docs/paper.md §8).

Setting. After a rotation, p(x) = Σ_i a_i ψ_{τ(i)}(y_i): block i has its own local coordinates
y_i (dimension <= k), the blocks are independent, and every block of *type* τ carries the same
polynomial ψ_τ (a :class:`BlockType`, kept un-normalised with rational He-coefficients). The
scales a_i are exact numbers; for the paper's class a_i = λ_i / sqrt(L·E[ψ_τ²]).

The identity used. With E_{m,m',j} = <P_j p^m, P_j p^{m'}> / (m! m'!),

    Σ_{m,m',j} E_{m,m',j} t^m s^{m'} y^j = Π_i G_τ(a_i t, a_i s, y),
    G_τ(t, s, y) = Σ_{r,r',j} <P_j ψ_τ^r, P_j ψ_τ^{r'}> / (r! r'!) · t^r s^{r'} y^j,

because the Hermite basis is a tensor product over the independent blocks. Taking logs,
log Π_i G_τ(a_i t, a_i s, y) = Σ_τ Σ_{m,m',j} ℓ^τ_{m,m',j} P_{τ,m+m'} t^m s^{m'} y^j, where
P_{τ,r} = Σ_{i of type τ} a_i^r are the **power sums** of the scales. So every exact quantity
(||P_j h||², <P_j h, P_j p>, E p^r, ...) is a polynomial in the power sums with rational
coefficients that do not depend on L: a :class:`PowerSumPolynomial`. Its cost is independent of
L; only the power sums see the blocks (O(L) to sum, O(1) when the λ_i repeat, and a closed form
with L as a sympy symbol when they repeat with a period).

Exactness. Everything is exact: the series are computed in python ``Fraction``s, the power sums
are sympy numbers (rationals times powers of sqrt(L·N)), and a value is a sympy number or, with
L a symbol, a sympy expression in L. Nothing is rounded; the floats of :func:`project_numeric`
are rounded once from exact coefficients.

Weights. For balanced λ (|λ_i| <= C), |P_{τ,r}| <= C^r N_τ^{-r/2} L^{1 - r/2}: the monomial
Π P_{τ,r}^{e_r} is O(L^{-w}) with weight w = Σ e_r (r/2 - 1). :meth:`PowerSumPolynomial.by_weight`
splits a quantity by weight; the Lemma 2 checks read the rate in L from it.

Validity: blocks must be independent (mutually orthogonal subspaces); the engine is handed only
types and power sums, so the feature objects (``theory.features``) are responsible for that.
Tested against the naive expansion (``theory.compose``) in ``tests/test_structured.py``.
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from math import factorial
from operator import add
from typing import Callable, Iterable, Mapping, Sequence

import sympy

from .expansion import HermiteExpansion, alpha_factorial
from .hermite import MultiIndexError, NegativeDegreeError
from .validation import nonnegative_integer

__all__ = [
    "BlockType",
    "PowerSumPolynomial",
    "BlockEngine",
    "block_engine",
    "LinkQuantities",
    "link_quantities",
    "moment",
    "scaled_power_sum",
    "periodic_power_sums",
    "ProjectionTables",
    "projection_tables",
    "project_numeric",
    "StructureError",
    "clear_exact_caches",
    "power_terms",
]

MultiIndex = tuple[int, ...]
PowerSumKey = tuple[int, int]  # (type index τ, power r)


class StructureError(ValueError):
    """The input does not have the block structure the engine needs (assumption: independent
    blocks, polynomial block types with exact rational coefficients)."""


def _fraction(c, what: str) -> Fraction:
    if isinstance(c, bool):
        raise TypeError(f"{what}: {c!r} is a bool, not a number")
    if isinstance(c, (int, Fraction)):
        return Fraction(c)
    if isinstance(c, float):
        raise StructureError(f"{what}: {c!r} is a float; the exact engine needs rationals")
    c = sympy.sympify(c)
    if not c.is_Rational:
        raise StructureError(f"{what}: {c} is not rational; give ψ with rational He-coefficients "
                             "and put irrational factors into the block scales")
    return Fraction(int(c.p), int(c.q))


# --- block types -------------------------------------------------------------------------------

class BlockType:
    """One block polynomial ψ(y) = Σ_b c_b He_b(y) in ``local_dim`` local coordinates, with
    rational He-coefficients c_b (un-normalised: the feature divides by sqrt(norm2)).

    Hashable by value, so engines and tables built for it are cached.
    """

    __slots__ = ("terms", "local_dim", "name", "_key")

    def __init__(self, he_terms: Mapping[Sequence[int], object], *, name: str = ""):
        if not he_terms:
            raise StructureError("a block type needs at least one He-coefficient")
        terms: dict[MultiIndex, Fraction] = {}
        dims = set()
        for b, c in he_terms.items():
            try:
                b = tuple(int(v) for v in b)
            except TypeError:
                raise TypeError(f"He multi-index {b!r} is not a tuple of ints") from None
            if any(v < 0 for v in b):
                raise NegativeDegreeError(f"He multi-index {b} has a negative degree")
            dims.add(len(b))
            c = _fraction(c, f"He-coefficient of {b}")
            if c:
                terms[b] = terms.get(b, Fraction(0)) + c
        if len(dims) != 1 or 0 in dims:
            raise MultiIndexError(f"He multi-indices of one block must share one length >= 1, got lengths {sorted(dims)}")
        terms = {b: c for b, c in terms.items() if c}
        if not terms:
            raise StructureError("the block polynomial is zero")
        self.terms = tuple(sorted(terms.items()))
        self.local_dim = dims.pop()
        self.name = name or f"ψ[{self.local_dim} vars, deg {self.degree}]"
        self._key = (self.local_dim, self.terms)

    # constructors for the paper's families
    @classmethod
    def hermite(cls, k: int) -> "BlockType":
        """He_k in one variable (ψ = h_k = He_k / sqrt(k!) after normalisation)."""
        nonnegative_integer("k", k, error=NegativeDegreeError)
        if k < 1:
            raise StructureError("a feature block needs degree k >= 1")
        return cls({(k,): 1}, name=f"h_{k}")

    @classmethod
    def product(cls, k: int) -> "BlockType":
        """y_1 y_2 ... y_k = He_1^{⊗k} (already normalised: E ψ² = 1)."""
        nonnegative_integer("k", k, error=NegativeDegreeError)
        if k < 1:
            raise StructureError("a feature block needs degree k >= 1")
        return cls({(1,) * k: 1}, name=f"prod_{k}")

    @classmethod
    def from_polynomial(cls, f, variables, *, name: str = "") -> "BlockType":
        """The block type of a polynomial ``f`` in the local ``variables`` (sympy symbols)."""
        from .expansion import expand

        e = expand(f, variables)
        return cls(e.he_terms(), name=name)

    # facts
    def __eq__(self, other) -> bool:
        return isinstance(other, BlockType) and other._key == self._key

    def __hash__(self) -> int:
        return hash(self._key)

    def __repr__(self) -> str:
        return f"BlockType({self.name})"

    @property
    def degree(self) -> int:
        return max(sum(b) for b, _ in self.terms)

    @property
    def min_degree(self) -> int:
        return min(sum(b) for b, _ in self.terms)

    @property
    def is_homogeneous(self) -> bool:
        return self.min_degree == self.degree

    @property
    def mean(self) -> Fraction:
        """E ψ (the He_0 coefficient)."""
        return dict(self.terms).get((0,) * self.local_dim, Fraction(0))

    @property
    def norm2(self) -> Fraction:
        """E ψ² = Σ_b c_b² b! (of the un-normalised ψ)."""
        return sum((c * c * alpha_factorial(b) for b, c in self.terms), Fraction(0))

    def expansion(self) -> HermiteExpansion:
        """ψ as a :class:`HermiteExpansion` in local symbols y0, y1, ..."""
        ys = sympy.symbols(f"y0:{self.local_dim}")
        return HermiteExpansion.from_he_coefficients(
            {b: sympy.Rational(c.numerator, c.denominator) for b, c in self.terms}, ys)


@lru_cache(maxsize=256)
def power_terms(psi: BlockType, r_max: int) -> tuple[dict[MultiIndex, Fraction], ...]:
    """He-coefficients of ψ^r for r = 0..r_max, by exact linearisation (theory.expansion)."""
    base = psi.expansion()
    powers = []
    current = None
    for r in range(r_max + 1):
        current = HermiteExpansion.from_he_coefficients({(0,) * psi.local_dim: 1}, base.variables) \
            if r == 0 else current * base
        powers.append({b: _fraction(c, "ψ^r coefficient") for b, c in current.he_terms().items()})
    return tuple(powers)


@lru_cache(maxsize=256)
def _block_gram(psi: BlockType, r_max: int, j_max: int) -> dict[tuple[int, int, int], Fraction]:
    """G_τ as {(r, r', j): <P_j ψ^r, P_j ψ^{r'}> / (r! r'!)} for r, r' <= r_max, j <= j_max."""
    powers = power_terms(psi, r_max)
    by_degree = []
    for terms in powers:
        graded: dict[int, dict[MultiIndex, Fraction]] = {}
        for b, c in terms.items():
            if sum(b) <= j_max:
                graded.setdefault(sum(b), {})[b] = c
        by_degree.append(graded)
    out = {}
    for r in range(r_max + 1):
        for r2 in range(r_max + 1):
            for j in range(j_max + 1):
                small, large = by_degree[r].get(j, {}), by_degree[r2].get(j, {})
                total = sum((c * large[b] * alpha_factorial(b) for b, c in small.items() if b in large),
                            Fraction(0))
                if total:
                    out[(r, r2, j)] = total / (factorial(r) * factorial(r2))
    return out


# --- truncated series over (t, s, y) with polynomial coefficients in the power sums -----------

Series = dict[tuple[int, int, int], dict[tuple[int, ...], Fraction]]


def _series_mul(A: Series, B: Series, caps: tuple[int, int, int]) -> Series:
    ct, cs, cy = caps
    out: Series = {}
    for (m1, n1, j1), pa in A.items():
        for (m2, n2, j2), pb in B.items():
            m, n, j = m1 + m2, n1 + n2, j1 + j2
            if m > ct or n > cs or j > cy:
                continue
            target = out.setdefault((m, n, j), {})
            for ea, ca in pa.items():
                for eb, cb in pb.items():
                    e = tuple(map(add, ea, eb))
                    target[e] = target.get(e, 0) + ca * cb
    return {k: {e: c for e, c in v.items() if c} for k, v in out.items() if any(v.values())}


def _series_add(A: Series, B: Series, scale: Fraction = Fraction(1)) -> Series:
    out = {k: dict(v) for k, v in A.items()}
    for k, pb in B.items():
        target = out.setdefault(k, {})
        for e, c in pb.items():
            target[e] = target.get(e, 0) + scale * c
    return {k: {e: c for e, c in v.items() if c} for k, v in out.items() if any(v.values())}


def _series_log1p(X: Series, caps, n_vars: int) -> Series:
    """log(1 + X) for X without a (0, 0, *) term; X^n vanishes beyond n = ct + cs."""
    total: Series = {}
    power = X
    for n in range(1, caps[0] + caps[1] + 1):
        total = _series_add(total, power, Fraction((-1) ** (n + 1), n))
        power = _series_mul(power, X, caps)
        if not power:
            break
    return total


def _series_exp(X: Series, caps, n_vars: int) -> Series:
    """exp(X) for X without a (0, 0, *) term."""
    one: Series = {(0, 0, 0): {(0,) * n_vars: Fraction(1)}}
    total = one
    power = one
    for n in range(1, caps[0] + caps[1] + 1):
        power = _series_mul(power, X, caps)
        if not power:
            break
        total = _series_add(total, power, Fraction(1, factorial(n)))
    return total


# --- polynomials in the power sums ----------------------------------------------------------

class PowerSumPolynomial:
    """An exact polynomial in the power sums P_{τ,r} = Σ_{i of type τ} a_i^r.

    ``terms`` maps a monomial, a sorted tuple of ((τ, r), exponent), to an exact sympy number.
    """

    __slots__ = ("terms",)

    def __init__(self, terms: Mapping[tuple, object] | None = None):
        clean = {}
        for mono, c in (terms or {}).items():
            if isinstance(c, float):
                raise StructureError(f"coefficient {c!r} is a float; power-sum polynomials are exact")
            c = sympy.sympify(c)
            if c != 0:
                clean[tuple(sorted(mono))] = c
        self.terms = clean

    @classmethod
    def constant(cls, c) -> "PowerSumPolynomial":
        return cls({(): c})

    def __add__(self, other: "PowerSumPolynomial") -> "PowerSumPolynomial":
        out = dict(self.terms)
        for mono, c in other.terms.items():
            out[mono] = out.get(mono, 0) + c
        return PowerSumPolynomial({m: sympy.expand(c) for m, c in out.items()})

    def __sub__(self, other: "PowerSumPolynomial") -> "PowerSumPolynomial":
        return self + other.scale(-1)

    def scale(self, c) -> "PowerSumPolynomial":
        c = sympy.sympify(c)
        return PowerSumPolynomial({m: sympy.expand(v * c) for m, v in self.terms.items()})

    def __mul__(self, other: "PowerSumPolynomial") -> "PowerSumPolynomial":
        out: dict = {}
        for m1, c1 in self.terms.items():
            for m2, c2 in other.terms.items():
                merged: dict = dict(m1)
                for key, e in m2:
                    merged[key] = merged.get(key, 0) + e
                mono = tuple(sorted(merged.items()))
                out[mono] = out.get(mono, 0) + c1 * c2
        return PowerSumPolynomial({m: sympy.expand(c) for m, c in out.items()})

    def __repr__(self) -> str:
        return f"PowerSumPolynomial({self.as_expr()})"

    @property
    def is_zero(self) -> bool:
        return not self.terms

    def keys(self) -> set[PowerSumKey]:
        """The power sums this polynomial uses."""
        return {key for mono in self.terms for key, _ in mono}

    def as_expr(self) -> sympy.Expr:
        """The polynomial with P_{τ,r} written as the symbol ``P{τ}_{r}``."""
        total = sympy.Integer(0)
        for mono, c in self.terms.items():
            term = c
            for (tau, r), e in mono:
                term *= sympy.Symbol(f"P{tau}_{r}") ** e
            total += term
        return total

    def evaluate(self, power_sums: Callable[[PowerSumKey], object] | Mapping) -> sympy.Expr:
        """The exact value for given power sums (a mapping or a function of (τ, r))."""
        lookup = power_sums.__getitem__ if isinstance(power_sums, Mapping) else power_sums
        cache = {key: sympy.sympify(lookup(key)) for key in self.keys()}
        total = sympy.Integer(0)
        for mono, c in self.terms.items():
            term = c
            for key, e in mono:
                term *= cache[key] ** e
            total += term
        return sympy.expand(total)

    def substitute(self, values: Mapping[PowerSumKey, object]) -> "PowerSumPolynomial":
        """Replace some power sums by exact values (e.g. P_{0,2} = 1/N for normalised p)."""
        out: dict = {}
        for mono, c in self.terms.items():
            kept = []
            for key, e in mono:
                if key in values:
                    c = c * sympy.sympify(values[key]) ** e
                else:
                    kept.append((key, e))
            out[tuple(kept)] = out.get(tuple(kept), 0) + c
        return PowerSumPolynomial({m: sympy.expand(v) for m, v in out.items()})

    @staticmethod
    def weight(mono) -> Fraction:
        """The L-decay order of a monomial: Σ e·(r/2 - 1) (P_r = O(L^{1 - r/2}) for balanced λ)."""
        return sum((e * (Fraction(r, 2) - 1) for (_, r), e in mono), Fraction(0))

    def by_weight(self) -> dict[Fraction, "PowerSumPolynomial"]:
        """{weight: the part of that weight}, weights ascending."""
        parts: dict[Fraction, dict] = {}
        for mono, c in self.terms.items():
            parts.setdefault(self.weight(mono), {})[mono] = c
        return {w: PowerSumPolynomial(parts[w]) for w in sorted(parts)}

    def balanced_bound(self, *, bound: object, norms: Mapping[int, object], min_weight: Fraction) -> sympy.Expr:
        """K with |part of weight >= min_weight| <= K · L^{-min_weight} for every L >= 1 and every
        scale vector with |a_i| <= bound / sqrt(L·N_τ) (|λ_i| <= bound), P_{τ,2} exact.

        Uses |P_{τ,r}| <= L (bound² / (L N_τ))^{r/2} = bound^r N_τ^{-r/2} L^{1 - r/2}, so a monomial of
        weight w is at most its |coefficient| · Π bound^r N_τ^{-r/2} · L^{-w} <= ... · L^{-min_weight}.
        Terms of weight below ``min_weight`` are not allowed here (they must vanish first).
        """
        C = sympy.sympify(bound)
        total = sympy.Integer(0)
        for mono, c in self.terms.items():
            if self.weight(mono) < min_weight:
                raise ValueError(f"monomial {mono} has weight {self.weight(mono)} < {min_weight}")
            term = sympy.Abs(c)
            for (tau, r), e in mono:
                term *= (C ** r * sympy.sympify(norms[tau]) ** sympy.Rational(-r, 2)) ** e
            total += term
        return total


# --- the engine ------------------------------------------------------------------------------

class BlockEngine:
    """<P_j p^m, P_j p^{m'}> as power-sum polynomials, for p = Σ_i a_i ψ_{τ(i)}(y_i).

    ``types``: the block types τ = 0, 1, ...; ``max_power``: largest m, m' (the link degree q, at
    least 1); ``max_degree``: largest Hermite degree j needed (k for Lemma 2, kq for the spectrum).
    """

    def __init__(self, types: Sequence[BlockType], *, max_power: int, max_degree: int):
        self.types = tuple(types)
        if not self.types:
            raise StructureError("the engine needs at least one block type")
        self.max_power = max(1, nonnegative_integer("max_power", max_power, error=NegativeDegreeError))
        self.max_degree = nonnegative_integer("max_degree", max_degree, error=NegativeDegreeError)
        Q, J = self.max_power, self.max_degree
        caps = (Q, Q, J)
        self._keys: list[PowerSumKey] = []
        logs = []
        for tau, psi in enumerate(self.types):
            gram = _block_gram(psi, Q, J)
            X = {key: {(): c} for key, c in gram.items() if key != (0, 0, 0)}
            if gram.get((0, 0, 0)) != 1:  # G(0,0,0) = E[1] = 1
                raise AssertionError("block Gram at (0,0,0) must be 1")
            logs.append(_series_log1p(X, caps, 0))
            for (m, n, _j) in logs[-1]:
                key = (tau, m + n)
                if key not in self._keys:
                    self._keys.append(key)
        self._keys.sort()
        index = {key: i for i, key in enumerate(self._keys)}
        n_vars = len(self._keys)
        X_total: Series = {}
        for tau, log_series in enumerate(logs):
            for (m, n, j), coeff in log_series.items():
                e = [0] * n_vars
                e[index[(tau, m + n)]] = 1
                X_total.setdefault((m, n, j), {})[tuple(e)] = coeff[()]
        self._series = _series_exp(X_total, caps, n_vars)

    @property
    def power_sum_keys(self) -> list[PowerSumKey]:
        """The power sums (τ, r) that can appear."""
        return list(self._keys)

    def gram(self, m: int, m2: int, j: int) -> PowerSumPolynomial:
        """<P_j p^m, P_j p^{m2}> as a polynomial in the power sums (exact rational coefficients)."""
        for value, name, cap in ((m, "m", self.max_power), (m2, "m2", self.max_power), (j, "j", self.max_degree)):
            nonnegative_integer(name, value, error=NegativeDegreeError)
            if value > cap:
                raise ValueError(f"{name} = {value} exceeds this engine's cap {cap}; build a larger engine")
        coeffs = self._series.get((m, m2, j), {})
        scale = factorial(m) * factorial(m2)
        terms = {}
        for e, c in coeffs.items():
            mono = tuple((self._keys[i], k) for i, k in enumerate(e) if k)
            c = c * scale
            terms[mono] = sympy.Rational(c.numerator, c.denominator)
        return PowerSumPolynomial(terms)


@lru_cache(maxsize=64)
def block_engine(types: tuple[BlockType, ...], max_power: int, max_degree: int) -> BlockEngine:
    """A cached :class:`BlockEngine` (the series depend only on the types and the caps)."""
    return BlockEngine(types, max_power=max_power, max_degree=max_degree)


@lru_cache(maxsize=64)
def _moment_series(types: tuple[BlockType, ...], r_max: int) -> dict[int, dict]:
    """E[p^r] / r! as power-sum polynomials: exp(Σ_τ Σ_r [u^r] log M_τ(u) · P_{τ,r} t^r)."""
    caps = (r_max, 0, 0)
    keys = [(tau, r) for tau in range(len(types)) for r in range(1, r_max + 1)]
    index = {key: i for i, key in enumerate(keys)}
    X_total: Series = {}
    for tau, psi in enumerate(types):
        powers = power_terms(psi, r_max)
        zero = (0,) * psi.local_dim
        M = {(r, 0, 0): {(): powers[r].get(zero, Fraction(0)) / factorial(r)} for r in range(1, r_max + 1)}
        M = {k: v for k, v in M.items() if v[()]}
        for (r, _, _), coeff in _series_log1p(M, caps, 0).items():
            e = [0] * len(keys)
            e[index[(tau, r)]] = 1
            X_total.setdefault((r, 0, 0), {})[tuple(e)] = coeff[()]
    series = _series_exp(X_total, caps, len(keys))
    return {r: {tuple((keys[i], k) for i, k in enumerate(e) if k): c for e, c in series.get((r, 0, 0), {}).items()}
            for r in range(r_max + 1)}


def moment(types: tuple[BlockType, ...], r: int) -> PowerSumPolynomial:
    """E[p^r] as a power-sum polynomial (any r; the engine's caps do not apply)."""
    nonnegative_integer("r", r, error=NegativeDegreeError)
    series = _moment_series(tuple(types), max(r, 1))
    scale = factorial(r)
    return PowerSumPolynomial({mono: sympy.Rational((c * scale).numerator, (c * scale).denominator)
                               for mono, c in series[r].items()})


# --- a link on top: the quantities Lemma 2 is about ------------------------------------------

class LinkQuantities:
    """Exact power-sum polynomials for h = g∘p, g(z) = Σ_m c_m z^m, built from one engine.

    - ``degree_energy(j)`` = ||P_j h||²;  ``cross(j)`` = <P_j h, P_j p>;  ``feature_energy(j)`` =
      ||P_j p||²;  ``mean`` = E h;
    - ``stein_gap2(k, slope)`` = ||P_k h - slope·p||² when p is homogeneous of degree k (else
      ||P_k h - slope·P_k p||², the distance to the degree-k part of the feature).
    """

    def __init__(self, engine: BlockEngine, link_coefficients: Sequence):
        self.engine = engine
        self.c = [sympy.sympify(c) for c in link_coefficients]
        if len(self.c) - 1 > engine.max_power:
            raise ValueError(f"link degree {len(self.c) - 1} exceeds the engine's max_power {engine.max_power}")

    def _combine(self, pairs: Iterable[tuple[object, PowerSumPolynomial]]) -> PowerSumPolynomial:
        total = PowerSumPolynomial()
        for coeff, poly in pairs:
            if coeff != 0 and not poly.is_zero:
                total = total + poly.scale(coeff)
        return total

    def degree_energy(self, j: int) -> PowerSumPolynomial:
        return self._combine((cm * cn, self.engine.gram(m, n, j))
                             for m, cm in enumerate(self.c) for n, cn in enumerate(self.c))

    def cross(self, j: int) -> PowerSumPolynomial:
        return self._combine((cm, self.engine.gram(m, 1, j)) for m, cm in enumerate(self.c))

    def feature_energy(self, j: int) -> PowerSumPolynomial:
        return self.engine.gram(1, 1, j)

    @property
    def mean(self) -> PowerSumPolynomial:
        return self._combine((cm, self.engine.gram(m, 0, 0)) for m, cm in enumerate(self.c))

    def stein_gap2(self, k: int, slope) -> PowerSumPolynomial:
        slope = sympy.sympify(slope)
        return self.degree_energy(k) - self.cross(k).scale(2 * slope) + self.feature_energy(k).scale(slope ** 2)

    def lower_energy(self, k: int) -> PowerSumPolynomial:
        """||P_{<k} h||²."""
        total = PowerSumPolynomial()
        for j in range(k):
            total = total + self.degree_energy(j)
        return total


def link_quantities(types: Sequence[BlockType], link_coefficients: Sequence, *, max_degree: int) -> LinkQuantities:
    """:class:`LinkQuantities` on a cached engine with caps (link degree, ``max_degree``)."""
    q = max(1, len(link_coefficients) - 1)
    return LinkQuantities(block_engine(tuple(types), q, max_degree), link_coefficients)


# --- power sums -----------------------------------------------------------------------------

def scaled_power_sum(lambda_power_sum, r: int, *, L, norm2) -> sympy.Expr:
    """Σ_i a_i^r for a_i = λ_i / sqrt(L·N): (Σ_i λ_i^r) · (L·N)^{-r/2}, exactly (L may be a symbol)."""
    return sympy.sympify(lambda_power_sum) * (sympy.sympify(L) * sympy.sympify(norm2)) ** sympy.Rational(-r, 2)


def periodic_power_sums(motif: Sequence, *, L, norm2, tau: int = 0) -> Callable[[PowerSumKey], sympy.Expr]:
    """Power sums of the family whose λ repeat a motif (λ_1..λ_M) L/M times (L a multiple of M, or
    a sympy symbol): P_{τ,r} = (L/M) Σ_motif λ^r (L N)^{-r/2}. All blocks of one type ``tau``."""
    values = [sympy.sympify(v) for v in motif]
    M = len(values)
    if M == 0:
        raise ValueError("the motif is empty")

    def lookup(key: PowerSumKey) -> sympy.Expr:
        t, r = key
        if t != tau:
            return sympy.Integer(0)
        return scaled_power_sum(sympy.sympify(L) / M * sum(v ** r for v in values), r, L=L, norm2=norm2)

    return lookup


# --- numeric evaluation of P_{<=J} h on samples ----------------------------------------------

class ProjectionTables:
    """Exact tables behind :func:`project_numeric` for one block type, rounded to float once.

    Per block, with u = a_i t and w marking the Hermite degree, R_i(t, w; y) =
    Σ_{b != 0} F(a_i t; b) h_b(y) w^{|b|} / M(a_i t) = Σ_{r, j>=1} a_i^r t^r w^j S_{r,j}(y), where
    S_{r,j} = Σ_{r1+r2=r} [u^{r2}](1/M) · P_j(ψ^{r1})/r1! (a polynomial in y, He-coefficients).
    ``terms[r][j]`` = (alphas (T, m) int, coefficients (T,) float); ``log_mgf[r]`` = [u^r] log M(u).
    """

    def __init__(self, psi: BlockType, max_power: int, max_degree: int):
        Q, J = max_power, max_degree
        powers = power_terms(psi, Q)
        zero = (0,) * psi.local_dim
        M = [powers[r].get(zero, Fraction(0)) / factorial(r) for r in range(Q + 1)]
        inv = [Fraction(0)] * (Q + 1)  # 1/M as a series in u (M_0 = 1)
        inv[0] = Fraction(1)
        for r in range(1, Q + 1):
            inv[r] = -sum((M[i] * inv[r - i] for i in range(1, r + 1)), Fraction(0))
        log_series = _series_log1p({(r, 0, 0): {(): M[r]} for r in range(1, Q + 1) if M[r]}, (Q, 0, 0), 0)
        self.log_mgf = [float(log_series.get((r, 0, 0), {(): 0})[()]) for r in range(Q + 1)]
        self.log_mgf_exact = [log_series.get((r, 0, 0), {(): Fraction(0)})[()] for r in range(Q + 1)]
        self.terms: list[list[tuple]] = []
        self.max_coordinate_degree = 0
        for r in range(Q + 1):
            row = [None]
            for j in range(1, J + 1):
                acc: dict[MultiIndex, Fraction] = {}
                for r1 in range(r + 1):
                    weight = inv[r - r1] / factorial(r1)
                    if not weight:
                        continue
                    for b, c in powers[r1].items():
                        if sum(b) == j:
                            acc[b] = acc.get(b, Fraction(0)) + weight * c
                acc = {b: c for b, c in acc.items() if c}
                alphas = sorted(acc)
                self.max_coordinate_degree = max([self.max_coordinate_degree] + [max(b) for b in alphas])
                row.append((alphas, [float(acc[b]) for b in alphas]))
            self.terms.append(row)
        self.max_power, self.max_degree, self.local_dim = Q, J, psi.local_dim


@lru_cache(maxsize=64)
def projection_tables(psi: BlockType, max_power: int, max_degree: int) -> ProjectionTables:
    return ProjectionTables(psi, max_power, max_degree)


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


def _zeros(like, shape):
    if _is_torch(like):
        import torch

        return torch.zeros(shape, dtype=like.dtype, device=like.device)
    import numpy as np

    return np.zeros(shape, dtype=like.dtype)


def _smul(A, B):
    """Truncated product of series over the last two axes (t, w)."""
    T, W = A.shape[-2], A.shape[-1]
    out = _zeros(A, tuple(A.shape))
    for t1 in range(T):
        for w1 in range(W):
            out[..., t1:, w1:] += A[..., t1:t1 + 1, w1:w1 + 1] * B[..., :T - t1, :W - w1]
    return out


def project_numeric(groups: Sequence[tuple[BlockType, object, object]], link_coefficients: Sequence[float],
                    log_mgf_total: Sequence[float], *, max_degree: int, only_degree: bool = False):
    """P_{<=J} h (or P_J h with ``only_degree``) at n samples, float64, numpy or torch.

    ``groups``: per block type, (ψ, local coordinates y of shape (n, L_τ, m), scales a of shape
    (L_τ,)) in the same library as y. ``log_mgf_total[r]`` = [t^r] log Π_i M(a_i t) (float, from
    exact power sums). Formula: Σ_m c_m m! [t^m] Φ(t) · [w^{<=J}] exp(Σ_i log(1 + R_i)).
    """
    from .numeric import he_table

    Q = max(1, len(link_coefficients) - 1)
    J = max_degree
    S_total = None
    for psi, y, a in groups:
        tables = projection_tables(psi, Q, J)
        n, Lt, m = y.shape
        H = he_table(max(tables.max_coordinate_degree, 1), y)  # (n, L, m, D+1)
        R = _zeros(y, (n, Lt, Q + 1, J + 1))
        for r in range(Q + 1):
            ar = a ** r
            for j in range(1, J + 1):
                alphas, coeffs = tables.terms[r][j]
                if not alphas:
                    continue
                value = _zeros(y, (n, Lt))
                for alpha, c in zip(alphas, coeffs):
                    term = H[:, :, 0, alpha[0]]
                    for l in range(1, m):
                        term = term * H[:, :, l, alpha[l]]
                    value = value + c * term
                R[:, :, r, j] = value * ar
        # log(1 + R): R has w-degree >= 1, so the series stops at R^J
        log_term = R * 1.0
        power = R
        for k in range(2, J + 1):
            power = _smul(power, R)
            log_term = log_term + ((-1) ** (k + 1) / k) * power
        contribution = log_term.sum(1)
        S_total = contribution if S_total is None else S_total + contribution
    # exp(S): w-degree >= 1 again
    total = _zeros(S_total, tuple(S_total.shape))
    total[:, 0, 0] = 1.0
    power = total * 1.0
    for k in range(1, J + 1):
        power = _smul(power, S_total) / k
        total = total + power
    phi = _zeros(S_total, (1, Q + 1, J + 1))
    log_phi = _zeros(S_total, (1, Q + 1, J + 1))
    for r in range(1, Q + 1):
        log_phi[0, r, 0] = float(log_mgf_total[r])
    phi[0, 0, 0] = 1.0
    power = phi * 1.0
    for k in range(1, Q + 1):
        power = _smul(power, log_phi) / k
        phi = phi + power
    full = _smul(_broadcast(phi, total), total)
    out = _zeros(S_total, (S_total.shape[0],))
    for mdeg, c in enumerate(link_coefficients):
        if c == 0:
            continue
        column = full[:, mdeg, J] if only_degree else full[:, mdeg, :].sum(-1)
        out = out + (float(c) * factorial(mdeg)) * column
    return out


def _broadcast(phi, like):
    if _is_torch(like):
        return phi.expand(like.shape[0], -1, -1).clone()
    import numpy as np

    return np.broadcast_to(phi, like.shape).copy()


def clear_exact_caches() -> None:
    """Empty the per-process caches of the exact engine (block Gram tables, power terms, moment
    series, engines), so that the next exact computation starts cold (benchmarks time it so)."""
    for cached in (block_engine, _block_gram, power_terms, _moment_series):
        cached.cache_clear()
