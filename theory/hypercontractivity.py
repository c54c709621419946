"""Gaussian hypercontractivity, exactly: ||f||_q <= (q-1)^{k/2} ||f||_2 for deg f = k, even q.

For even q, ||f||_q^q = E f^q is a polynomial moment, computed exactly from the Gaussian moments
(2m-1)!!. The inequality is compared in q-th powers, which avoids square roots:

    E f^q  <=  (q-1)^{kq/2} (E f^2)^{q/2},

both sides rational for rational f (q/2 and kq/2 are integers for even q).
"""
from __future__ import annotations

import sympy

from .expansion import monomial_expectation, ring_element, as_variables
from .validation import integer_at_least

__all__ = ["lq_norm_power", "hypercontractive_bound_power", "hypercontractive_ratio_power",
           "hypercontractive_ratio"]


def _check_even_order(q) -> int:
    q = integer_at_least("q", q, 2, why="exact L^q norms need an even q >= 2")
    if q % 2:
        raise ValueError(f"q = {q}: exact L^q norms here need an even q >= 2 (E f^q is then a "
                         "polynomial moment; odd q would need E|f|^q)")
    return q


def lq_norm_power(f, variables, q: int) -> sympy.Expr:
    """||f||_q^q = E f(x)^q, x ~ N(0, I), exactly, for even q >= 2."""
    q = _check_even_order(q)
    element = ring_element(f, as_variables(variables))
    power = element ** q
    return power.ring.domain.to_sympy(monomial_expectation(power.ring.domain, dict(power.items())))


def hypercontractive_bound_power(q: int, k: int) -> int:
    """((q-1)^{k/2})^q = (q-1)^{kq/2}, the q-th power of the hypercontractive constant."""
    q = _check_even_order(q)
    if k < 0:
        raise ValueError(f"degree k = {k} is negative")
    return (q - 1) ** (k * q // 2)


def hypercontractive_ratio_power(f, variables, q: int, k: int | None = None) -> sympy.Expr:
    """E f^q / ((q-1)^{kq/2} (E f^2)^{q/2}), exact; <= 1 iff the inequality holds.

    ``k`` defaults to the total degree of f. The ratio of norms is this value to the power 1/q.
    """
    vs = as_variables(variables)
    element = ring_element(f, vs)
    if not element:
        raise ValueError("f = 0: the hypercontractive ratio is undefined")
    if k is None:
        k = max(sum(m) for m in element.keys())
    second = lq_norm_power(element, vs, 2)
    return lq_norm_power(element, vs, q) / (hypercontractive_bound_power(q, k) * second ** (q // 2))


def hypercontractive_ratio(f, variables, q: int, k: int | None = None) -> float:
    """||f||_q / ((q-1)^{k/2} ||f||_2) as a float (from the exact q-th power)."""
    return float(hypercontractive_ratio_power(f, variables, q, k)) ** (1.0 / q)
