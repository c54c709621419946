"""The kernel side of the paper: degree spectrum of a target and the plateau of degree-<=l fits.

For h in L^2(N(0, I_d)) with Hermite expansion h = Σ_j P_j h:

- ``degree_spectrum(h)`` = [||P_0 h||^2, ..., ||P_D h||^2] (exact, sums to ||h||^2);
- ``plateau(h, l)`` = 1 - ||P_{<=l} h~||^2 / ||h~||^2 = ||P_{>l} h||^2 / Var h, with h~ = h - E h.

Normalisation (documented choice): by the variance Var h = ||h - E h||^2, so the plateau is the
risk of the best degree-<=l fit relative to that of the best constant predictor. A kernel /
random-features method with n <= d^{l+1-δ} samples fits at most P_{<=l} h (Ghorbani et al. 2021,
PAPER.md §4), so its normalised risk stays at or above ``plateau(h, l)``. For a centred h
(E h = 0, as with a centred link) Var h = ||h||^2 and this is 1 - ||P_{<=l} h||^2 / ||h||^2.
"""
from __future__ import annotations

import sympy

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
