"""Exact multivariate Hermite expansions in L^2(N(0, I_d)).

A polynomial f in x_1..x_d has a unique expansion f = Σ_α c_α He_α(x), He_α(x) = Π_i He_{α_i}(x_i).
In the orthonormal basis h_α = He_α / sqrt(α!) (α! = Π_i α_i!) the coefficient is c_α sqrt(α!).

Storage (a design choice, documented): a :class:`HermiteExpansion` stores the **He-basis**
coefficients c_α as elements of one exact sympy domain: the rationals QQ, or a real algebraic
field such as QQ<sqrt(6)> when f's coefficients involve square roots (e.g. p = L^{-1/2} Σ h_k(x_i)).
For rational f every c_α is rational, and every quantity of L^2 geometry (norms, inner products,
energies per degree, Gaussian expectations) is then rational too; only the h-basis coefficients
``coefficient(alpha)`` carry the irrational sqrt(α!), and they are produced on output.

Arithmetic is sparse dicts of multi-indices over the domain (sympy ``PolyRing`` for products of
polynomials), never sympy ``integrate`` and never ``Expr`` arithmetic in inner loops. Cost grows
with the number of monomials C(d + D, D) of degree <= D; see ``benchmarks/bench_expansion.py``.
"""
from __future__ import annotations

from math import factorial, prod
from typing import Iterable, Mapping, Sequence

import numpy as np
import sympy
from sympy.polys.constructor import construct_domain
from sympy.polys.rings import PolyElement, PolyRing

from .validation import nonnegative_integer
from .hermite import (
    InexactCoefficientError,
    MultiIndexError,
    NegativeDegreeError,
    NotOrthogonalError,
    NotPolynomialError,
    UnknownSymbolError,
    UnsupportedCoefficientError,
    VariableMismatchError,
    gaussian_moment,
    he_coefficients,
    he_product,
    link_poly,
    monomial_to_he,
)

__all__ = [
    "HermiteExpansion",
    "expand",
    "gaussian_expectation",
    "compose",
    "rotate",
    "he_basis",
    "h_basis",
    "as_variables",
    "polynomial_terms",
    "alpha_factorial",
    "monomial_expectation",
    "ring_element",
]

MultiIndex = tuple[int, ...]


# --- validation and domains -----------------------------------------------------------------

def as_variables(variables) -> tuple[sympy.Symbol, ...]:
    """The variable list as a tuple of distinct sympy Symbols (one Symbol is allowed)."""
    if isinstance(variables, sympy.Symbol):
        variables = (variables,)
    try:
        vs = tuple(variables)
    except TypeError:
        raise TypeError(f"variables must be a sequence of sympy Symbols, got {variables!r}") from None
    if not vs:
        raise ValueError("variables is empty: name at least one Gaussian coordinate")
    for v in vs:
        if not isinstance(v, sympy.Symbol):
            raise TypeError(f"variables must be sympy Symbols; {v!r} is a {type(v).__name__}")
    if len(set(vs)) != len(vs):
        raise ValueError(f"variables {vs} contain a repeated symbol")
    return vs


def alpha_factorial(alpha: Iterable[int]) -> int:
    """α! = Π_i α_i!, the squared norm of He_α."""
    return prod(factorial(a) for a in alpha)


def _check_real_exact_domain(K, what: str):
    if K.is_RR or K.is_CC or K.is_RealField or K.is_ComplexField:
        raise InexactCoefficientError(
            f"{what} has float coefficients: exact Hermite algebra needs exact coefficients "
            "(integers, sympy.Rational, sympy.sqrt(...))"
        )
    if K.is_ZZ:
        return sympy.QQ
    if K.is_QQ:
        return K
    if K.is_AlgebraicField and K.ext.is_real:
        return K
    raise UnsupportedCoefficientError(
        f"{what} has coefficients in {K}: the exact engine needs real algebraic coefficients "
        "(rationals or real radicals); pi, I or other symbols are not supported"
    )


def _domain_of(numbers: Sequence, what: str):
    """An exact real field containing ``numbers`` and the numbers as its elements."""
    numbers = [sympy.sympify(n) for n in numbers]
    for n in numbers:
        if n.has(sympy.Float):
            _check_real_exact_domain(sympy.RR, what)
        if n.free_symbols:
            raise UnknownSymbolError(f"{what} contains symbols {sorted(map(str, n.free_symbols))}")
    K, elements = construct_domain(numbers, extension=True) if numbers else (sympy.QQ, [])
    field = _check_real_exact_domain(K, what)
    return field, [field.convert_from(e, K) for e in elements]


def _unify(K1, K2):
    return K1 if K1 == K2 else K1.unify(K2)


def _convert_terms(terms: Mapping, K_from, K_to) -> dict:
    if K_from == K_to:
        return dict(terms)
    return {a: K_to.convert_from(c, K_from) for a, c in terms.items()}


def polynomial_terms(f, variables) -> tuple[object, dict[MultiIndex, object]]:
    """Validate ``f`` as a polynomial in ``variables``; return (domain, {exponent tuple: coeff}).

    ``f`` may be a sympy expression or number, a ``sympy.Poly``, a ``PolyElement`` or a
    :class:`HermiteExpansion` (converted back to monomials). Raises UnknownSymbolError for free
    symbols outside ``variables``, NotPolynomialError for non-polynomial input,
    InexactCoefficientError for floats, UnsupportedCoefficientError for pi, I and the like.
    """
    vs = as_variables(variables)
    if isinstance(f, HermiteExpansion):
        return f.domain, _embed_terms(f.to_poly_terms(), f.variables, vs)
    if isinstance(f, PolyElement):
        ring_vars = tuple(f.ring.symbols)
        extra = set(ring_vars) - set(vs)
        nonzero_vars = {ring_vars[i] for m in f.keys() for i, e in enumerate(m) if e}
        if nonzero_vars & extra:
            raise UnknownSymbolError(f"polynomial uses {sorted(map(str, nonzero_vars & extra))}, "
                                     f"not in the variable list {vs}")
        K = _check_real_exact_domain(f.ring.domain, "polynomial")
        terms = {m: K.convert_from(c, f.ring.domain) for m, c in f.items()}
        return K, _embed_terms(terms, ring_vars, vs, drop=extra)
    if isinstance(f, sympy.Poly):
        extra = f.free_symbols - set(vs)
        if extra:
            raise UnknownSymbolError(
                f"polynomial {f.as_expr()} has symbols {sorted(map(str, extra))} not in the "
                f"variable list {vs}"
            )
        if not all(isinstance(g, sympy.Symbol) for g in f.gens):
            raise NotPolynomialError(f"{f} has non-symbol generators {f.gens}: not a polynomial")
        poly = f
        if not (poly.domain.is_ZZ or poly.domain.is_QQ or poly.domain.is_AlgebraicField):
            poly = sympy.Poly(poly.as_expr(), *vs, extension=True)
    else:
        expr = sympy.sympify(f)
        extra = expr.free_symbols - set(vs)
        if extra:
            raise UnknownSymbolError(
                f"{expr} has symbols {sorted(map(str, extra))} not in the variable list {vs}"
            )
        if not expr.is_polynomial(*vs):
            raise NotPolynomialError(f"{expr} is not a polynomial in {vs}")
        if expr.has(sympy.Float):
            _check_real_exact_domain(sympy.RR, f"{expr}")
        poly = sympy.Poly(expr, *vs, extension=True)
    K = _check_real_exact_domain(poly.domain, f"{poly.as_expr()}")
    terms = {m: K.convert_from(c, poly.domain) for m, c in poly.rep.to_dict().items()}
    return K, _embed_terms(terms, tuple(poly.gens), vs)


def _embed_terms(terms: Mapping, source_vars: tuple, target_vars: tuple, drop=frozenset()) -> dict:
    """Re-index exponent tuples from ``source_vars`` to ``target_vars`` (absent ones are 0)."""
    if source_vars == target_vars:
        return {m: c for m, c in terms.items() if c}
    position = {v: i for i, v in enumerate(target_vars)}
    missing = set(source_vars) - set(target_vars) - set(drop)
    if missing:
        raise VariableMismatchError(f"variables {sorted(map(str, missing))} are not in {target_vars}")
    index = [position.get(v) for v in source_vars]
    out = {}
    for m, c in terms.items():
        if not c:
            continue
        new = [0] * len(target_vars)
        for i, e in zip(index, m):
            if i is not None:
                new[i] += e
        out[tuple(new)] = c
    return out


def _cartesian(tables: Sequence[Mapping[int, int]]) -> list[tuple[MultiIndex, int]]:
    """All (index tuple, product of weights) from one {index: weight} table per coordinate."""
    partial: list[tuple[MultiIndex, int]] = [((), 1)]
    for table in tables:
        partial = [(a + (n,), w * t) for a, w in partial for n, t in table.items() if t]
    return partial


def _accumulate(out: dict, K, contributions, scale) -> None:
    zero = K.zero
    for index, weight in contributions:
        out[index] = out.get(index, zero) + scale * weight  # domain element times int


def _drop_zeros(terms: dict) -> dict:
    return {a: c for a, c in terms.items() if c}


# --- the expansion ----------------------------------------------------------------------------

class HermiteExpansion:
    """An exact element of L^2(N(0, I_d)) that is a polynomial: Σ_α c_α He_α over ``variables``.

    Build one with :func:`expand`, :func:`compose`, :func:`rotate`, :func:`he_basis` or
    :meth:`from_he_coefficients`. Immutable; arithmetic returns new expansions. Exact values are
    returned as sympy numbers (Rationals for rational input).
    """

    __slots__ = ("variables", "domain", "_terms")

    def __init__(self, variables, terms: Mapping[MultiIndex, object], domain):
        self.variables: tuple[sympy.Symbol, ...] = as_variables(variables)
        self.domain = domain
        self._terms: dict[MultiIndex, object] = _drop_zeros(dict(terms))

    # construction
    @classmethod
    def from_he_coefficients(cls, coefficients: Mapping, variables) -> "HermiteExpansion":
        """Σ_α c_α He_α from {alpha: exact number}."""
        vs = as_variables(variables)
        alphas = [_check_alpha(a, len(vs)) for a in coefficients]
        K, values = _domain_of(list(coefficients.values()), "He coefficients")
        terms: dict = {}
        for a, c in zip(alphas, values):
            terms[a] = terms.get(a, K.zero) + c
        return cls(vs, terms, K)

    @classmethod
    def from_h_coefficients(cls, coefficients: Mapping, variables) -> "HermiteExpansion":
        """Σ_α b_α h_α from {alpha: exact number} (orthonormal basis; c_α = b_α / sqrt(α!))."""
        vs = as_variables(variables)
        converted = {}
        for a, b in coefficients.items():
            a = _check_alpha(a, len(vs))
            converted[a] = sympy.sympify(b) / sympy.sqrt(alpha_factorial(a))
        return cls.from_he_coefficients(converted, vs)

    # basic facts
    @property
    def d(self) -> int:
        return len(self.variables)

    @property
    def degree(self) -> int:
        """max |α| over nonzero coefficients (0 for the zero expansion, as sympy does)."""
        return max((sum(a) for a in self._terms), default=0)

    @property
    def is_zero(self) -> bool:
        return not self._terms

    def __len__(self) -> int:
        """Number of nonzero Hermite coefficients."""
        return len(self._terms)

    def __repr__(self) -> str:
        names = ",".join(map(str, self.variables))
        return f"HermiteExpansion(vars=({names}), degree={self.degree}, terms={len(self)}, domain={self.domain})"

    # coefficients
    def _alpha(self, alpha) -> MultiIndex:
        return _check_alpha(alpha, self.d)

    def he_coefficient(self, alpha) -> sympy.Expr:
        """Exact coefficient c_α on He_α."""
        return self.domain.to_sympy(self._terms.get(self._alpha(alpha), self.domain.zero))

    def coefficient(self, alpha) -> sympy.Expr:
        """Exact coefficient on the orthonormal h_α: c_α sqrt(α!)."""
        alpha = self._alpha(alpha)
        c = self._terms.get(alpha)
        if c is None:
            return sympy.Integer(0)
        return sympy.radsimp(self.domain.to_sympy(c) * sympy.sqrt(alpha_factorial(alpha)))

    def coefficient_squared(self, alpha) -> sympy.Expr:
        """The exact square of the h_α coefficient, c_α^2 α! (rational for rational f)."""
        alpha = self._alpha(alpha)
        c = self._terms.get(alpha, self.domain.zero)
        return self.domain.to_sympy(c * c * alpha_factorial(alpha))

    def he_terms(self) -> dict[MultiIndex, sympy.Expr]:
        """{α: c_α} for the nonzero He-basis coefficients."""
        return {a: self.domain.to_sympy(c) for a, c in self._terms.items()}

    def h_terms(self) -> dict[MultiIndex, sympy.Expr]:
        """{α: c_α sqrt(α!)} for the nonzero orthonormal-basis coefficients."""
        return {a: self.coefficient(a) for a in self._terms}

    def float_terms(self, basis: str = "he") -> tuple[np.ndarray, np.ndarray]:
        """(alphas int64 (T, d), coefficients float64 (T,)) in the ``"he"`` or ``"h"`` basis, for
        numeric evaluation (rounded once from the exact values)."""
        if basis not in ("he", "h"):
            raise ValueError(f"basis must be 'he' or 'h', got {basis!r}")
        alphas = sorted(self._terms)
        A = np.array(alphas, dtype=np.int64).reshape(len(alphas), self.d)
        values = [float(self.domain.to_sympy(self._terms[a])) for a in alphas]
        if basis == "h":
            values = [v * float(np.sqrt(float(alpha_factorial(a)))) for v, a in zip(values, alphas)]
        return A, np.array(values, dtype=np.float64)

    # projections
    def _filtered(self, keep) -> "HermiteExpansion":
        return HermiteExpansion(self.variables, {a: c for a, c in self._terms.items() if keep(sum(a))},
                                self.domain)

    def project(self, j: int) -> "HermiteExpansion":
        """P_j: the part of total degree exactly j."""
        j = _check_order(j)
        return self._filtered(lambda n: n == j)

    def project_le(self, j: int) -> "HermiteExpansion":
        """P_{<=j}."""
        j = _check_order(j)
        return self._filtered(lambda n: n <= j)

    def project_lt(self, j: int) -> "HermiteExpansion":
        """P_{<j} (zero for j = 0)."""
        j = _check_order(j)
        return self._filtered(lambda n: n < j)

    def project_gt(self, j: int) -> "HermiteExpansion":
        """P_{>j}."""
        j = _check_order(j)
        return self._filtered(lambda n: n > j)

    def project_ge(self, j: int) -> "HermiteExpansion":
        """P_{>=j}."""
        j = _check_order(j)
        return self._filtered(lambda n: n >= j)

    # L^2 geometry
    def mean(self) -> sympy.Expr:
        """E f(x), x ~ N(0, I): the He_0 coefficient."""
        return self.he_coefficient((0,) * self.d)

    def centred(self) -> "HermiteExpansion":
        """f - E f."""
        return self.project_gt(0)

    def _norm2_element(self):
        K = self.domain
        return sum((c * c * alpha_factorial(a) for a, c in self._terms.items()), K.zero)

    def norm2(self) -> sympy.Expr:
        """||f||^2 = E f^2 = Σ_α c_α^2 α!, exact."""
        return self.domain.to_sympy(self._norm2_element())

    def norm(self) -> sympy.Expr:
        """||f|| = sqrt(E f^2), exact (a sympy square root)."""
        return sympy.sqrt(self.norm2())

    def inner(self, other: "HermiteExpansion") -> sympy.Expr:
        """<f, g> = E f g, exact."""
        K, mine, theirs = self._aligned(other)
        total = K.zero
        small, large = (mine, theirs) if len(mine) <= len(theirs) else (theirs, mine)
        for a, c in small.items():
            c2 = large.get(a)
            if c2 is not None:
                total += c * c2 * alpha_factorial(a)
        return K.to_sympy(total)

    def degree_energies(self) -> list[sympy.Expr]:
        """[||P_0 f||^2, ..., ||P_D f||^2] with D = degree; they sum to ||f||^2 (Parseval)."""
        K = self.domain
        energies = [K.zero] * (self.degree + 1)
        for a, c in self._terms.items():
            energies[sum(a)] += c * c * alpha_factorial(a)
        return [K.to_sympy(e) for e in energies]

    # back to polynomials
    def to_poly_terms(self) -> dict[MultiIndex, object]:
        """{exponent tuple: domain element}: the monomial expansion of Σ c_α He_α."""
        K = self.domain
        out: dict = {}
        for a, c in self._terms.items():
            tables = [dict(enumerate(he_coefficients(n))) for n in a]
            _accumulate(out, K, _cartesian(tables), c)
        return _drop_zeros(out)

    def to_ring_element(self) -> PolyElement:
        """The polynomial as an element of sympy's sparse ``PolyRing`` over ``domain``."""
        return PolyRing(self.variables, self.domain).from_dict(self.to_poly_terms())

    def to_poly(self) -> sympy.Poly:
        """The polynomial Σ_α c_α He_α(x) as a ``sympy.Poly`` in ``variables``."""
        terms = self.to_poly_terms() or {(0,) * self.d: self.domain.zero}
        return sympy.Poly.from_dict(terms, *self.variables, domain=self.domain)

    def to_expr(self) -> sympy.Expr:
        return self.to_poly().as_expr()

    # linear operations and products
    def _aligned(self, other: "HermiteExpansion"):
        if not isinstance(other, HermiteExpansion):
            raise TypeError(f"expected a HermiteExpansion, got {type(other).__name__}")
        if other.variables != self.variables:
            raise VariableMismatchError(
                f"expansions over different variables {self.variables} and {other.variables}"
            )
        K = _unify(self.domain, other.domain)
        return K, _convert_terms(self._terms, self.domain, K), _convert_terms(other._terms, other.domain, K)

    def _scalar(self, s):
        K_s, (value,) = _domain_of([s], "scalar")
        K = _unify(self.domain, K_s)
        return K, _convert_terms(self._terms, self.domain, K), K.convert_from(value, K_s)

    def __add__(self, other):
        if not isinstance(other, HermiteExpansion):
            K, mine, value = self._scalar(other)
            zero_index = (0,) * self.d
            mine[zero_index] = mine.get(zero_index, K.zero) + value
            return HermiteExpansion(self.variables, mine, K)
        K, mine, theirs = self._aligned(other)
        for a, c in theirs.items():
            mine[a] = mine.get(a, K.zero) + c
        return HermiteExpansion(self.variables, mine, K)

    __radd__ = __add__

    def __neg__(self):
        return HermiteExpansion(self.variables, {a: -c for a, c in self._terms.items()}, self.domain)

    def __sub__(self, other):
        return self + (-other)

    def __rsub__(self, other):
        return (-self) + other

    def __mul__(self, other):
        """Scalar multiple, or the product of two expansions by exact linearisation
        He_m He_n = Σ_r r! C(m,r) C(n,r) He_{m+n-2r} in each coordinate."""
        if not isinstance(other, HermiteExpansion):
            K, mine, value = self._scalar(other)
            return HermiteExpansion(self.variables, {a: c * value for a, c in mine.items()}, K)
        K, mine, theirs = self._aligned(other)
        out: dict = {}
        for a, ca in mine.items():
            for b, cb in theirs.items():
                tables = [he_product(m, n) for m, n in zip(a, b)]
                _accumulate(out, K, _cartesian(tables), ca * cb)
        return HermiteExpansion(self.variables, out, K)

    def __rmul__(self, other):
        return self * other

    def __truediv__(self, other):
        if isinstance(other, HermiteExpansion):
            raise TypeError("division by an expansion is not a polynomial operation")
        return self * (1 / sympy.sympify(other))

    def __eq__(self, other) -> bool:
        if not isinstance(other, HermiteExpansion):
            return NotImplemented
        if other.variables != self.variables:
            return False
        K, mine, theirs = self._aligned(other)
        return mine == theirs

    __hash__ = None  # mutable-looking value object: equality by value, not hashable


def _check_alpha(alpha, d: int) -> MultiIndex:
    try:
        alpha = tuple(alpha)
    except TypeError:
        raise TypeError(f"alpha must be a tuple of {d} degrees, got {alpha!r}") from None
    if len(alpha) != d:
        raise MultiIndexError(
            f"alpha {alpha} has length {len(alpha)}, but there are {d} variables: give one degree "
            "per variable, in the order of the variable list"
        )
    out = []
    for a in alpha:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer, sympy.Integer)):
            raise TypeError(f"alpha entries must be ints, got {a!r} in {alpha}")
        if a < 0:
            raise NegativeDegreeError(f"alpha {alpha} has a negative degree")
        out.append(int(a))
    return tuple(out)


def _check_order(j) -> int:
    return nonnegative_integer("the projection order j", j, error=NegativeDegreeError, why="P_j needs j >= 0")


# --- module-level API -----------------------------------------------------------------------

def _from_monomials(variables, K, terms: Mapping[MultiIndex, object]) -> HermiteExpansion:
    out: dict = {}
    for beta, c in terms.items():
        if c:
            _accumulate(out, K, _cartesian([monomial_to_he(b) for b in beta]), c)
    return HermiteExpansion(variables, out, K)


def expand(f, variables) -> HermiteExpansion:
    """The exact Hermite expansion of the polynomial ``f`` in the sympy symbols ``variables``
    (x ~ N(0, I_d), coordinates in the order given).

    ``f``: a sympy expression, number, ``Poly``, ``PolyElement`` or HermiteExpansion. Errors:
    UnknownSymbolError (symbols not in ``variables``), NotPolynomialError, InexactCoefficientError
    (floats), UnsupportedCoefficientError (pi, I, ...).
    """
    vs = as_variables(variables)
    if isinstance(f, HermiteExpansion):
        if f.variables == vs:
            return f
    K, terms = polynomial_terms(f, vs)
    return _from_monomials(vs, K, terms)


def gaussian_expectation(f, variables) -> sympy.Expr:
    """E f(x), x ~ N(0, I_d), exactly: Σ_β c_β Π_i (β_i - 1)!! over even exponents."""
    vs = as_variables(variables)
    if isinstance(f, HermiteExpansion) and f.variables == vs:
        return f.mean()
    K, terms = polynomial_terms(f, vs)
    return K.to_sympy(monomial_expectation(K, terms))


def monomial_expectation(K, terms: Mapping[MultiIndex, object]):
    """E[Σ_β c_β x^β] for x ~ N(0, I), exact in the domain K (a sum of products of 1-d moments)."""
    total = K.zero
    for beta, c in terms.items():
        moment = prod(gaussian_moment(b) for b in beta)
        if moment:
            total += c * moment
    return total


def ring_element(f, variables) -> PolyElement:
    """``f`` as an element of sympy's sparse polynomial ring over ``variables`` (exact domain)."""
    K, terms = polynomial_terms(f, variables)
    return PolyRing(as_variables(variables), K).from_dict(terms)


def compose(g, z: sympy.Symbol, p, variables) -> HermiteExpansion:
    """The expansion of g(p(x)) for a polynomial link g in ``z`` and a polynomial ``p`` in
    ``variables`` (Horner's rule in sympy's sparse polynomial ring, then one expansion).

    Cost: that of the monomial expansion of g∘p, C(d + kq, kq) terms at worst (docs/paper.md §7);
    use the structured engine for large d.
    """
    vs = as_variables(variables)
    g_poly = link_poly(g, z)
    K_g, g_coeffs = _domain_of(list(reversed(g_poly.all_coeffs())), f"link {g_poly.as_expr()}")
    p_elem = ring_element(p, vs)
    K = _unify(K_g, p_elem.ring.domain)
    ring = PolyRing(vs, K)
    p_elem = ring.from_dict(_convert_terms(dict(p_elem.items()), p_elem.ring.domain, K))
    result = ring.zero
    for c in reversed(g_coeffs):  # highest degree first
        result = result * p_elem + K.convert_from(c, K_g)
    return _from_monomials(vs, K, dict(result.items()))


def _matrix_entries(U, d: int) -> list[list[sympy.Expr]]:
    M = sympy.Matrix(U)
    if M.shape != (d, d):
        raise ValueError(f"rotation must be {d}x{d} for {d} variables, got shape {M.shape}")
    return [[M[i, j] for j in range(d)] for i in range(d)]


def rotate(f, variables, U, *, check_orthogonal: bool = True) -> HermiteExpansion:
    """The expansion of x -> f(U x) for an exactly orthogonal d x d matrix ``U`` (rational, e.g.
    a Householder or Cayley matrix, or with radicals). Each P_j space is rotation invariant, so
    the degree energies and the norm are preserved (checked in tests, not assumed).
    """
    vs = as_variables(variables)
    d = len(vs)
    entries = _matrix_entries(U, d)
    K_U, flat = _domain_of([e for row in entries for e in row], "rotation matrix")
    Ue = [flat[i * d:(i + 1) * d] for i in range(d)]
    if check_orthogonal:
        for i in range(d):
            for j in range(d):
                dot = sum((Ue[k][i] * Ue[k][j] for k in range(d)), K_U.zero)
                if dot != (K_U.one if i == j else K_U.zero):
                    raise NotOrthogonalError(
                        f"U^T U has entry ({i},{j}) = {K_U.to_sympy(dot)}: U is not orthogonal"
                    )
    K_f, terms = polynomial_terms(f, vs)
    K = _unify(K_f, K_U)
    ring = PolyRing(vs, K)
    linear = [ring.from_dict({tuple(int(k == j) for k in range(d)): K.convert_from(Ue[i][j], K_U)
                              for j in range(d)}) for i in range(d)]
    images: dict[MultiIndex, PolyElement] = {(0,) * d: ring.one}

    def image(beta: MultiIndex) -> PolyElement:
        # (Ux)^β = L_i (Ux)^(β - e_i), memoised: one multiplication by a linear form per monomial
        cached = images.get(beta)
        if cached is None:
            i = next(k for k, b in enumerate(beta) if b)
            lower = beta[:i] + (beta[i] - 1,) + beta[i + 1:]
            cached = images[beta] = image(lower) * linear[i]
        return cached

    total: dict = {}
    for beta in sorted(terms, key=sum):  # increasing degree keeps recursion shallow
        c = K.convert_from(terms[beta], K_f)
        for m, v in image(beta).items():
            total[m] = total.get(m, K.zero) + c * v
    return _from_monomials(vs, K, _drop_zeros(total))


def he_basis(alpha, variables) -> HermiteExpansion:
    """He_α as an expansion (coefficient 1 on He_α; norm² α!)."""
    vs = as_variables(variables)
    return HermiteExpansion(vs, {_check_alpha(alpha, len(vs)): sympy.QQ.one}, sympy.QQ)


def h_basis(alpha, variables) -> HermiteExpansion:
    """The orthonormal h_α = He_α / sqrt(α!) as an expansion (over QQ<sqrt(α!)> if needed)."""
    vs = as_variables(variables)
    return HermiteExpansion.from_h_coefficients({_check_alpha(alpha, len(vs)): 1}, vs)
