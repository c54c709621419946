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
