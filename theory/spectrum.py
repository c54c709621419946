"""The kernel side of the paper: degree spectrum of a target and the plateau of degree-<=l fits.

For h in L^2(N(0, I_d)) with Hermite expansion h = Σ_j P_j h:

- ``degree_spectrum(h)`` = [||P_0 h||^2, ..., ||P_D h||^2] (exact, sums to ||h||^2);
- ``plateau(h, l)`` = 1 - ||P_{<=l} h~||^2 / ||h~||^2 = ||P_{>l} h||^2 / Var h, with h~ = h - E h.

Normalisation (documented choice): by the variance Var h = ||h - E h||^2, so the plateau is the
risk of the best degree-<=l fit relative to that of the best constant predictor. A kernel /
random-features method with n <= d^{l+1-δ} samples fits at most P_{<=l} h (Ghorbani et al. 2021,
docs/paper.md §4), so its normalised risk stays at or above ``plateau(h, l)``. For a centred h
(E h = 0, as with a centred link) Var h = ||h||^2 and this is 1 - ||P_{<=l} h||^2 / ||h||^2.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import sympy
from sympy.polys.polyfuncs import interpolate

from .expansion import HermiteExpansion, expand
from .hermite import HermiteInputError, NegativeDegreeError

__all__ = [
    "ConstantTargetError",
    "degree_spectrum",
    "variance",
    "share_at_degree",
    "top_degree_share",
    "plateau",
    "plateau_curve",
    "ClosedFormSpectrum",
    "closed_form_spectrum",
]


class ConstantTargetError(HermiteInputError):
    """The target is constant (Var h = 0): shares and plateaus are undefined."""


def _as_expansion(h, variables) -> HermiteExpansion:
    if isinstance(h, HermiteExpansion) and variables is None:
        return h
    if variables is None:
        raise TypeError("give `variables` when h is not a HermiteExpansion")
    return expand(h, variables)


def degree_spectrum(h, variables=None) -> list[sympy.Expr]:
    """[||P_j h||^2 for j = 0..deg h], exact."""
    return _as_expansion(h, variables).degree_energies()


def _spectrum_and_variance(h, variables):
    expansion = _as_expansion(h, variables)
    K = expansion.domain
    energies = [K.from_sympy(e) for e in expansion.degree_energies()]
    var = sum(energies[1:], K.zero)
    if not var:
        raise ConstantTargetError(f"{expansion} is constant: Var h = 0, no share or plateau exists")
    return K, energies, var


def variance(h, variables=None) -> sympy.Expr:
    """Var h = ||h||^2 - (E h)^2 = Σ_{j>=1} ||P_j h||^2, exact."""
    return _as_expansion(h, variables).centred().norm2()


def share_at_degree(h, j: int, variables=None) -> sympy.Expr:
    """||P_j h||^2 / Var h for j >= 1, exact."""
    if j < 1:
        raise NegativeDegreeError(f"a share of the variance needs degree j >= 1, got {j}")
    K, energies, var = _spectrum_and_variance(h, variables)
    value = energies[j] if j < len(energies) else K.zero
    return K.to_sympy(K.quo(value, var))


def top_degree_share(h, variables=None) -> sympy.Expr:
    """||P_D h||^2 / Var h at the top degree D = deg h (the kernel bound's Θ(1) share)."""
    K, energies, var = _spectrum_and_variance(h, variables)
    return K.to_sympy(K.quo(energies[-1], var))


def plateau(h, ell: int, variables=None) -> sympy.Expr:
    """1 - ||P_{<=l} h~||^2 / ||h~||^2 = ||P_{>l} h||^2 / Var h for l >= 0 (exact; 0 for l >= deg)."""
    if ell < 0:
        raise NegativeDegreeError(f"plateau order l = {ell} is negative")
    K, energies, var = _spectrum_and_variance(h, variables)
    above = sum(energies[ell + 1:], K.zero)
    return K.to_sympy(K.quo(above, var))


def plateau_curve(h, variables=None) -> list[sympy.Expr]:
    """[plateau(h, l) for l = 0..deg h]: 1 at l = 0, non-increasing, 0 at l = deg h."""
    K, energies, var = _spectrum_and_variance(h, variables)
    out, above = [], sum(energies[1:], K.zero)
    for ell in range(len(energies)):
        if ell >= 1:
            above -= energies[ell]
        out.append(K.to_sympy(K.quo(above, var)))
    return out


# --- closed forms in the number of components L -------------------------------------------

L_SYMBOL = sympy.Symbol("L", positive=True, integer=True)


@dataclass(frozen=True)
class ClosedFormSpectrum:
    """Exact degree energies as functions of L: ||P_j h_L||^2 = scaled[j](L) / L^scale_power.

    Built by :func:`closed_form_spectrum` from exact values at L = 1..degree_bound + 1 and
    verified at further L (``verified_at``); valid for every L >= 1 when the polynomial-degree
    bound it was built with holds (the caller states why it does).
    """

    scaled: tuple[sympy.Poly, ...]
    scale_power: int
    degree_bound: int
    verified_at: tuple[int, ...]
    verified: bool

    def energy(self, j: int, L: int) -> sympy.Rational:
        if j >= len(self.scaled):
            return sympy.Integer(0)
        return self.scaled[j].eval(L) / sympy.Integer(L) ** self.scale_power

    def variance(self, L: int) -> sympy.Rational:
        return sum((self.energy(j, L) for j in range(1, len(self.scaled))), sympy.Integer(0))

    def share(self, j: int, L: int) -> sympy.Rational:
        """||P_j h_L||^2 / Var h_L, exact."""
        return self.energy(j, L) / self.variance(L)

    def plateau(self, ell: int, L: int) -> sympy.Rational:
        return sum((self.energy(j, L) for j in range(ell + 1, len(self.scaled))),
                   sympy.Integer(0)) / self.variance(L)

    def _variance_poly(self) -> sympy.Poly:
        return sum(self.scaled[1:], sympy.Poly(0, L_SYMBOL))

    def limit_share(self, j: int) -> sympy.Rational:
        """lim_{L -> oo} ||P_j h_L||^2 / Var h_L, exact (ratio of leading coefficients)."""
        top = self.scaled[j] if j < len(self.scaled) else sympy.Poly(0, L_SYMBOL)
        var = self._variance_poly()
        if top.is_zero or top.degree() < var.degree():
            return sympy.Integer(0)
        return top.LC() / var.LC()

    def limit_plateau(self, ell: int) -> sympy.Rational:
        return sum((self.limit_share(j) for j in range(ell + 1, len(self.scaled))), sympy.Integer(0))


def _rational_energy(e, L: int) -> sympy.Rational:
    e = sympy.sympify(e)
    if not e.is_Rational:
        e = sympy.radsimp(sympy.expand(e))
    if not e.is_Rational:
        raise ValueError(f"energy {e} at L = {L} is irrational: this closed form in L needs rational "
                         "energies (k odd or a link of one parity, all lambda_i = 1)")
    return e


def closed_form_spectrum(energies_at: Callable[[int], Sequence], *, scale_power: int,
                         degree_bound: int, extra_points: int = 1,
                         far_points: Sequence[int] = ()) -> ClosedFormSpectrum:
    """Interpolate L^scale_power ||P_j h_L||^2 exactly as polynomials in L of degree <=
    ``degree_bound`` from ``energies_at(L)`` (a list of exact energies, index j) at
    L = 1..degree_bound + 1, then verify them at ``extra_points`` further consecutive values of
    L and at ``far_points`` (larger L, far outside the fit).

    The degree bound must come from the structure of h_L; for h_L = g(L^{-1/2} Σ_i h_k(x_i)) with
    k odd (or g of one parity) and all λ_i = 1, L^q ||P_j h_L||^2 is a polynomial of degree <= 2q
    in L (a sum over index patterns of 2q factors, each counted by a falling factorial of L).
    """
    if degree_bound < 0 or extra_points < 1:
        raise ValueError("need degree_bound >= 0 and at least one verification point")
    fit_points = list(range(1, degree_bound + 2))
    check_points = list(range(degree_bound + 2, degree_bound + 2 + extra_points))
    check_points += sorted(set(far_points) - set(fit_points) - set(check_points))
    values = {L: [_rational_energy(e, L) * sympy.Integer(L) ** scale_power for e in energies_at(L)]
              for L in fit_points + check_points}
    n_degrees = max(len(v) for v in values.values())
    for v in values.values():
        v.extend([sympy.Integer(0)] * (n_degrees - len(v)))
    polys, verified = [], True
    for j in range(n_degrees):
        poly = sympy.Poly(interpolate([(L, values[L][j]) for L in fit_points], L_SYMBOL), L_SYMBOL)
        verified &= all(poly.eval(L) == values[L][j] for L in check_points)
        polys.append(poly)
    return ClosedFormSpectrum(tuple(polys), scale_power, degree_bound, tuple(check_points), bool(verified))
