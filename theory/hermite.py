"""One-dimensional probabilists' Hermite algebra, exact.

Conventions (docs/paper.md §1):
- ``He_n`` is the probabilists' Hermite polynomial (sympy ``hermite_prob``, numpy ``hermite_e``;
  *not* sympy ``hermite``): He_0 = 1, He_1 = z, He_{n+1} = z He_n - n He_{n-1}. Its coefficients
  are integers.
- ``h_n = He_n / sqrt(n!)`` is orthonormal in L^2(N(0, 1)): E[h_m h_n] = [m == n].
- Gaussian moments: E z^n = (n-1)!! for even n, 0 for odd n.

Everything here is exact: python ints, sympy Rationals, and (only where sqrt(n!) enters, i.e. the
orthonormal basis) sympy square roots of integers. Nothing calls sympy ``integrate``.

Links g are polynomials in one symbol z. Their Hermite coefficients are Rationals when g has
rational coefficients and exact sympy numbers (e.g. involving sqrt) otherwise; floating-point
coefficients are rejected, since the result would not be exact.
"""
from __future__ import annotations

from functools import lru_cache
from math import comb, factorial
from typing import Union

import sympy

from .validation import nonnegative_integer

__all__ = [
    "Z",
    "HermiteInputError",
    "NotPolynomialError",
    "UnknownSymbolError",
    "NegativeDegreeError",
    "InexactCoefficientError",
    "UnsupportedCoefficientError",
    "MultiIndexError",
    "VariableMismatchError",
    "NotOrthogonalError",
    "he",
    "h",
    "he_coefficients",
    "double_factorial",
    "gaussian_moment",
    "he_product",
    "h_product",
    "monomial_to_he",
    "he_norm2",
    "link_poly",
    "link_he_coefficients",
    "link_h_coefficients",
    "link_from_he_coefficients",
    "link_mean",
    "link_derivative_mean",
    "link_second_moment",
    "information_exponent",
]

#: The default symbol of one-dimensional polynomials.
Z = sympy.Symbol("z")

Number = Union[int, sympy.Rational, sympy.Expr]


# --- errors: each names the violated assumption ---------------------------------------------

class HermiteInputError(ValueError):
    """Base class: an input to the exact Hermite algebra violates its assumptions."""


class NotPolynomialError(HermiteInputError):
    """The input is not a polynomial in the given variables (assumption: polynomial input)."""


class UnknownSymbolError(HermiteInputError):
    """The input contains symbols outside the given variable list (assumption: every free
    symbol is a Gaussian variable that was named)."""


class NegativeDegreeError(HermiteInputError):
    """A degree, an order or a multi-index entry is negative (assumption: degrees are >= 0)."""


class InexactCoefficientError(HermiteInputError):
    """A coefficient is a float (assumption: exact coefficients, so results are exact)."""


class UnsupportedCoefficientError(HermiteInputError):
    """A coefficient is exact but not a real algebraic number (e.g. pi or I); the multivariate
    engine works over the rationals or a real algebraic extension such as QQ<sqrt(6)>."""


class MultiIndexError(HermiteInputError):
    """A multi-index alpha has the wrong length for the variable list (assumption: one degree
    per variable, in the order given)."""


class VariableMismatchError(HermiteInputError):
    """Two expansions over different variable lists were combined (assumption: the same
    Gaussian coordinates, in the same order)."""


class NotOrthogonalError(HermiteInputError):
    """A matrix given as a rotation is not exactly orthogonal (assumption: U^T U = I)."""


def _check_degree(name: str, n) -> int:
    return nonnegative_integer(name, n, error=NegativeDegreeError, why="Hermite degrees are >= 0")


# --- He_n, h_n -----------------------------------------------------------------------------

@lru_cache(maxsize=None)
def he_coefficients(n: int) -> tuple[int, ...]:
    """Integer monomial coefficients of He_n, lowest degree first (length n + 1)."""
    n = _check_degree("n", n)
    previous, current = (), (1,)  # He_{-1} = 0 (unused), He_0 = 1
    for m in range(n):
        # He_{m+1} = z He_m - m He_{m-1}
        shifted = (0,) + current
        nxt = list(shifted)
        for i, c in enumerate(previous):
            nxt[i] -= m * c
        previous, current = current, tuple(nxt)
    return current


def he(n: int, z: sympy.Symbol = Z) -> sympy.Poly:
    """He_n as a ``sympy.Poly`` in ``z`` over the integers (probabilists' Hermite)."""
    coeffs = he_coefficients(n)
    return sympy.Poly.from_list(list(reversed(coeffs)), z, domain=sympy.ZZ)


def h(n: int, z: sympy.Symbol = Z) -> sympy.Expr:
    """The orthonormal h_n = He_n / sqrt(n!) as a sympy expression in ``z``.

    Returned as an ``Expr`` (its coefficients are irrational for n >= 2); use :func:`he` and the
    factor ``sympy.sqrt(factorial(n))`` when you need polynomial arithmetic.
    """
    n = _check_degree("n", n)
    return he(n, z).as_expr() / sympy.sqrt(factorial(n))


def he_norm2(n: int) -> int:
    """E[He_n(z)^2] = n!."""
    return factorial(_check_degree("n", n))


# --- moments and linearisation ------------------------------------------------------------

def double_factorial(n: int) -> int:
    """n!! for n >= -1 (with (-1)!! = 0!! = 1)."""
    if n < -1:
        raise NegativeDegreeError(f"double factorial of {n} < -1 is not defined here")
    result = 1
    while n > 1:
        result *= n
        n -= 2
    return result


@lru_cache(maxsize=None)
def gaussian_moment(n: int) -> int:
    """E z^n for z ~ N(0, 1): (n-1)!! for even n, 0 for odd n."""
    n = _check_degree("n", n)
    return 0 if n % 2 else double_factorial(n - 1)


@lru_cache(maxsize=None)
def he_product(m: int, n: int) -> dict[int, int]:
    """Linearisation He_m He_n = Σ_r r! C(m,r) C(n,r) He_{m+n-2r}, as {degree: coefficient}."""
    m, n = _check_degree("m", m), _check_degree("n", n)
    return {m + n - 2 * r: factorial(r) * comb(m, r) * comb(n, r) for r in range(min(m, n) + 1)}


def h_product(m: int, n: int) -> dict[int, sympy.Expr]:
    """Linearisation h_m h_n = Σ_r c_r h_{m+n-2r}, c_r = r! C(m,r) C(n,r) sqrt((m+n-2r)!/(m! n!)).

    Coefficients are exact sympy numbers; their squares are rational.
    """
    norm = sympy.Integer(factorial(m) * factorial(n))
    return {
        degree: coefficient * sympy.sqrt(sympy.Integer(factorial(degree)) / norm)
        for degree, coefficient in he_product(m, n).items()
    }


@lru_cache(maxsize=None)
def monomial_to_he(n: int) -> dict[int, int]:
    """z^n = Σ_r n! / (2^r r! (n-2r)!) He_{n-2r}, as {degree: integer coefficient}."""
    n = _check_degree("n", n)
    return {
        n - 2 * r: factorial(n) // (2**r * factorial(r) * factorial(n - 2 * r))
        for r in range(n // 2 + 1)
    }


# --- links g(z) ----------------------------------------------------------------------------

def _exact_number(c) -> sympy.Expr:
    c = sympy.sympify(c)
    if c.has(sympy.Float):
        raise InexactCoefficientError(
            f"coefficient {c} is a float: exact Hermite algebra needs exact coefficients "
            "(use sympy.Rational or integers)"
        )
    return c


def link_poly(g, z: sympy.Symbol = Z) -> sympy.Poly:
    """Validate a one-dimensional polynomial link ``g`` in ``z`` and return it as a ``Poly``.

    Raises NotPolynomialError (not a polynomial in z), UnknownSymbolError (symbols other than z),
    InexactCoefficientError (float coefficients).
    """
    if not isinstance(z, sympy.Symbol):
        raise TypeError(f"z must be a sympy Symbol, got {z!r}")
    expr = g.as_expr() if isinstance(g, sympy.Poly) else sympy.sympify(g)
    extra = expr.free_symbols - {z}
    if extra:
        raise UnknownSymbolError(
            f"link {expr} has symbols {sorted(map(str, extra))} besides {z}: a link is a "
            f"polynomial in the single Gaussian variable {z}"
        )
    if not expr.is_polynomial(z):
        raise NotPolynomialError(f"link {expr} is not a polynomial in {z}")
    poly = sympy.Poly(sympy.expand(expr), z)
    for c in poly.coeffs():
        _exact_number(c)
    return poly


def _ascending(poly: sympy.Poly) -> list[sympy.Expr]:
    return list(reversed(poly.all_coeffs())) if not poly.is_zero else [sympy.Integer(0)]


def _simplify_number(c: sympy.Expr) -> sympy.Expr:
    return c if c.is_Rational else sympy.radsimp(sympy.expand(c))


def link_he_coefficients(g, z: sympy.Symbol = Z) -> list[sympy.Expr]:
    """Coefficients a_0..a_q with g = Σ_n a_n He_n (exact; Rationals for rational g)."""
    coeffs = _ascending(link_poly(g, z))
    result = [sympy.Integer(0)] * len(coeffs)
    for m, c in enumerate(coeffs):
        if c == 0:
            continue
        for n, t in monomial_to_he(m).items():
            result[n] += c * t
    return [_simplify_number(a) for a in result]


def link_h_coefficients(g, z: sympy.Symbol = Z) -> list[sympy.Expr]:
    """Coefficients b_n = a_n sqrt(n!) with g = Σ_n b_n h_n (orthonormal basis); Σ b_n^2 = E g^2."""
    return [
        _simplify_number(a * sympy.sqrt(factorial(n)))
        for n, a in enumerate(link_he_coefficients(g, z))
    ]


def link_from_he_coefficients(coefficients, z: sympy.Symbol = Z) -> sympy.Poly:
    """The polynomial Σ_n a_n He_n(z) for a sequence a_0, a_1, ... of exact numbers."""
    total = sympy.Poly(0, z, domain=sympy.ZZ)
    for n, a in enumerate(coefficients):
        a = _exact_number(a)
        if a != 0:
            total += he(n, z) * a
    return total


def link_mean(g, z: sympy.Symbol = Z) -> sympy.Expr:
    """E[g(z)], z ~ N(0, 1), exactly (from the moments (2m-1)!!)."""
    coeffs = _ascending(link_poly(g, z))
    return _simplify_number(sum((c * gaussian_moment(m) for m, c in enumerate(coeffs)),
                                sympy.Integer(0)))


def link_derivative_mean(g, z: sympy.Symbol = Z) -> sympy.Expr:
    """E[g'(z)], z ~ N(0, 1), exactly. Equals a_1, the He_1 coefficient, by Stein's lemma (the
    identity is checked by ``stein.exact``, not assumed here: this uses the derivative)."""
    return link_mean(link_poly(g, z).diff(z), z)


def link_second_moment(g, z: sympy.Symbol = Z) -> sympy.Expr:
    """E[g(z)^2] exactly."""
    poly = link_poly(g, z)
    return link_mean(poly * poly, z)


def information_exponent(g, z: sympy.Symbol = Z) -> int | None:
    """The smallest n >= 1 with a nonzero He_n coefficient of g; None when g is constant."""
    for n, a in enumerate(link_he_coefficients(g, z)):
        if n >= 1 and a != 0:
            return n
    return None
