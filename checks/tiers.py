"""The budget knob: every size a check uses is chosen here, per tier.

``quick`` (the default without a GPU) runs every claim at small sizes in minutes on 2 cores;
``full`` (the default with a GPU) runs the paper's sizes. Checks read their sizes with
``tier.sizes("area")``; tolerances follow from these sizes by formula inside the checks, never
from a per-tier constant.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

__all__ = ["TIERS", "Tier", "SIZES", "default_tier_name", "resolve_tier"]

TIERS = ("quick", "full")
TIER_ENV = "HIERPOLY_TIER"

# area -> tier -> sizes. Keep both tiers side by side so the scaling is visible at a glance.
SIZES: dict[str, dict[str, dict[str, Any]]] = {
    "harness": {
        "quick": {},
        "full": {},
    },
    # theory: exact checks (checks/check_theory.py). examples: hypothesis examples per check at
    # the ci profile (scaled with the profile's max_examples); k2_dims: d grid of the naive
    # expansion for the k = 2 kernel target (every sign class); closed_form_extra: how many
    # extra L points verify a closed form in L beyond the one that is required; closed_form_far_L:
    # far verification points (L * 3! a square keeps the naive expansion over QQ, fast).
    "theory": {
        "quick": {"examples": 40, "k2_dims": [2, 4, 6, 8], "closed_form_extra": 1,
                  "closed_form_far_L": [24]},
        "full": {"examples": 200, "k2_dims": [2, 4, 6, 8, 10, 12], "closed_form_extra": 3,
                 "closed_form_far_L": [24, 54]},
    },
    # model: stage-1 checks (checks/check_model.py). d_by_k: input dimension per feature degree k;
    # resolution: the largest n is where C times the least-squares risk formula equals this
    # fraction of Var P_{<=k} h; grid_points: n values (factor 4 apart) ending there; seeds: runs
    # per n (lemma1.stage1); probe_seeds: runs at the largest n for the probes (>= 6, so that a
    # refutation is possible within the rule's budget).
    "model": {
        "quick": {"d_by_k": {2: 8, 3: 4}, "resolution": 0.1, "grid_points": 3, "seeds": 10, "probe_seeds": 6},
        "full": {"d_by_k": {2: 12, 3: 6}, "resolution": 0.05, "grid_points": 4, "seeds": 16, "probe_seeds": 8},
    },
    # lemma2: exact checks of checks/check_lemma2.py (structured engine). examples: drawn (ψ, g,
    # motif) instances per k at the ci profile; L_max / grid_points: geometric L grid of the exact
    # values (random unequal λ); max_q: largest link degree drawn; few_components_d: d grid at fixed
    # L; unbalanced_n: spiked family L = n²; geometric_L: geometric-λ family; tensor_d_k2/k3: d grids
    # of the general-tensor conjecture (k = 3 is the naive expansion: cost C(d + 9, 9)).
    "lemma2": {
        "quick": {"examples": 4, "L_max": 10_000, "grid_points": 14, "max_q": 3,
                  "few_components_d": [32, 64, 128, 256], "unbalanced_n": [2, 4, 8, 16, 32, 64, 100],
                  "geometric_L": [4, 16, 64, 256], "tensor_d_k2": [4, 8, 16, 32], "tensor_d_k3": [3, 4, 5, 6]},
        "full": {"examples": 16, "L_max": 100_000, "grid_points": 20, "max_q": 4,
                 "few_components_d": [32, 64, 128, 256, 1024], "unbalanced_n": [2, 4, 8, 16, 32, 64, 128, 316],
                 "geometric_L": [4, 16, 64, 256, 1024], "tensor_d_k2": [4, 8, 16, 32, 64, 128],
                 "tensor_d_k3": [3, 4, 5, 6, 7, 8]},
    },
}


def default_tier_name() -> str:
    """``full`` when a CUDA device is present, else ``quick``."""
    import torch

    return "full" if torch.cuda.is_available() else "quick"


def resolve_tier(option_value: str | None) -> str:
    """``--tier``, else $HIERPOLY_TIER, else the default; unknown names are an error."""
    name = option_value or os.environ.get(TIER_ENV) or default_tier_name()
    if name not in TIERS:
        raise ValueError(f"unknown tier {name!r}: choose one of {', '.join(TIERS)}")
    return name


@dataclass(frozen=True)
class Tier:
    name: str

    def __post_init__(self) -> None:
        if self.name not in TIERS:
            raise ValueError(f"unknown tier {self.name!r}: choose one of {', '.join(TIERS)}")

    @property
    def is_full(self) -> bool:
        return self.name == "full"

    def sizes(self, area: str) -> Mapping[str, Any]:
        """The read-only sizes of one area (a check module) for this tier."""
        try:
            per_tier = SIZES[area]
        except KeyError:
            raise KeyError(f"no sizes for area {area!r} in checks/tiers.py; known: {sorted(SIZES)}") from None
        return MappingProxyType(per_tier[self.name])
