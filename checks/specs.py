"""Targets as plain data: the specs that key the sweep cache, travel to workers and replay a failure.

A spec is ``HierarchicalTarget.to_spec()`` (JSON-able, exact numbers as text); every check builds
its targets from specs (:func:`build_target`, memoised per process), so a run's configuration
says exactly which target it measured.
"""
from __future__ import annotations

import functools
import json
from fractions import Fraction
from typing import Any, Mapping

import numpy as np

from checks.seeds import derive_seed, numpy_generator
from checks.sweep import canonical_json
from theory.features import BlockFeature, HierarchicalTarget, Link, Weights, section5_target
from theory.structured import BlockType

__all__ = ["target_spec", "build_target", "section5_spec", "recipe_spec"]


def target_spec(target: HierarchicalTarget) -> dict[str, Any]:
    """Plain-data description of a target on coordinate blocks or a quadratic feature: enough to
    rebuild it exactly (:func:`build_target`), to key the cache and to replay a failure."""
    return target.to_spec()


@functools.lru_cache(maxsize=64)
def _build_from_text(text: str) -> HierarchicalTarget:
    return HierarchicalTarget.from_spec(json.loads(text))


def build_target(spec: Mapping[str, Any]) -> HierarchicalTarget:
    """The ``HierarchicalTarget`` a spec describes (memoised per process on its canonical text)."""
    return _build_from_text(canonical_json(dict(spec)))


def section5_spec(d: int, *, seed: int) -> dict[str, Any]:
    """The §5 target at d (p = Σ λ_i h_3(x_i)/√d, random signs, g = C_d z³ with E h² = 1); the
    signs come from a generator derived from ``seed`` and d."""
    return target_spec(section5_target(d, rng=numpy_generator(derive_seed(seed, f"section5-signs/{d}"))))


def recipe_spec(recipe: Mapping[str, Any], d: int) -> dict[str, Any]:
    """A target family drawn once (``recipe``) instantiated at dimension d: ψ on consecutive
    coordinate blocks, L = ⌊d / m⌋ blocks of m local variables, p = L^{-1/2} Σ λ_i ψ(x_{S_i}) / ||ψ||.

    recipe: ``psi`` (He-terms [[multi-index, "coefficient"], ...] of a ``BlockType``) and
    ``psi_name``, ``k``, ``link`` (monomial coefficients c_0..c_q of g, exact strings), and either
    ``signs_seed`` (λ_i = ±1 drawn per d from it) or ``signs = "alternating"`` (λ_i = (−1)^i).
    """
    psi = BlockType({tuple(b): Fraction(c) for b, c in recipe["psi"]}, name=recipe["psi_name"])
    L = d // psi.local_dim
    if L < 1:
        raise ValueError(f"d = {d} is too small for blocks of {psi.local_dim} coordinates")
    if recipe.get("signs") == "alternating":
        signs = np.array([(-1) ** i for i in range(L)])
    else:
        signs = numpy_generator(derive_seed(int(recipe["signs_seed"]), f"signs/{d}")).choice(np.array([-1, 1]), size=L)
    feature = BlockFeature.coordinate(psi, Weights.from_signs(signs), d=d, k=int(recipe["k"]))
    return target_spec(HierarchicalTarget(feature, Link.from_spec(recipe["link"])))
