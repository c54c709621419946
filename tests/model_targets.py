"""Small hand-made targets for the model tests: h = g∘p with exact projections from ``theory``.

``ExpansionTarget`` wraps exact :class:`theory.HermiteExpansion` objects for h and p and offers the
target interface that ``model`` expects (``evaluate``, ``feature.evaluate``, ``evaluate_projection``,
``norm2``, ``mean``, ``stage1_population_corr``, ``k``). It is only for small d (it expands g∘p
naively); the checks use ``theory.features`` where it exists.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import sympy
import torch

from theory import compose, expand
from theory.numeric import compile_expansion, evaluate

Z = sympy.Symbol("z")
EPS = torch.finfo(torch.float64).eps


def gen(seed: int = 0) -> torch.Generator:
    """A CPU torch.Generator seeded with ``seed`` (the model tests' explicit randomness)."""
    return torch.Generator().manual_seed(seed)


@dataclass
class _Function:
    expansion: object
    compiled: object = field(init=False)

    def __post_init__(self) -> None:
        self.compiled = compile_expansion(self.expansion)

    def evaluate(self, x):
        return evaluate(self.compiled, x)


class ExpansionTarget:
    """h = g(p) for a sympy link ``g`` in z and a sympy feature ``p`` in x_1..x_d (exact)."""

    def __init__(self, g, p, d: int, k: int):
        self.d, self.k = d, k
        self.variables = sympy.symbols(f"x1:{d + 1}")
        self.p_expansion = expand(p(self.variables), self.variables)
        self.h_expansion = compose(g, Z, p(self.variables), self.variables)
        self.feature = _Function(self.p_expansion)
        self._h = _Function(self.h_expansion)
        self._projections: dict[int, _Function] = {}

    def evaluate(self, x):
        return self._h.evaluate(x)

    def evaluate_projection(self, x, *, max_degree: int):
        if max_degree not in self._projections:
            self._projections[max_degree] = _Function(self.h_expansion.project_le(max_degree))
        return self._projections[max_degree].evaluate(x)

    def norm2(self) -> float:
        return float(self.h_expansion.norm2())

    def mean(self) -> float:
        return float(self.h_expansion.mean())

    def projection_norm2(self, degree: int) -> float:
        """‖P_j h‖², exact (rounded to float)."""
        return float(self.h_expansion.project(degree).norm2())

    def stage1_population_corr(self) -> float:
        projection = self.h_expansion.project_le(self.k).centred()
        return float(projection.inner(self.p_expansion)) / math.sqrt(
            float(projection.norm2()) * float(self.p_expansion.centred().norm2()))


def quadratic_target(d: int, *, signs=None) -> ExpansionTarget:
    """k = 2: p = d^{-1/2} Σ λ_i h_2(x_i) with λ_i = ±1, g(z) = z + (z² - 1)/2 (E g = 0, E g' = 1)."""
    signs = signs or [(-1) ** i for i in range(d)]
    g = Z + (Z**2 - 1) / 2

    def p(xs):
        return sum(s * (x**2 - 1) / sympy.sqrt(2) for s, x in zip(signs, xs)) / sympy.sqrt(d)

    return ExpansionTarget(g, p, d, 2)


def cubic_target(d: int) -> ExpansionTarget:
    """k = 3: p = d^{-1/2} Σ λ_i h_3(x_i) (docs/paper.md §5 feature, λ alternating), g(z) = z + (z² - 1)/2."""
    g = Z + (Z**2 - 1) / 2

    def p(xs):
        return sum((-1) ** i * (x**3 - 3 * x) / sympy.sqrt(6) for i, x in enumerate(xs)) / sympy.sqrt(d)

    return ExpansionTarget(g, p, d, 3)
