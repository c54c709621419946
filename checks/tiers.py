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
    # theorem1: sweeps of checks/check_theorem1.py (Theorem 1, lemma1 at scale, kernel separation,
    # stage 2, corollary). multiples (k3_multiples for k = 3, whose heavy-tailed §5 target needs
    # more): n1 grid in units of C(d+k, k) (geometric, ratio √2); k2_ds /
    # k3_ds: d grids of the network exponents; seeds: replicates per (d, n); n_test: test points
    # per (d, seed); n2, m2, ridge2: stage 2 of the network sweeps; hypothesis_examples: drawn
    # target families per check. kernel_*: the plateau comparison (one d, n1 = multiple·C(d+k,k))
    # and the kernel-exponent sweep (n in units of C(d+kq, kq)); stage2_*: d and n2 grids of the
    # given-feature stage 2; corollary_*: d grid and the one-step n grid (units of C(d+2, 2)).
    "theorem1": {
        "quick": {"seeds": 6, "n_test": 8192, "multiples": [2 ** (j / 2) for j in range(13)],
                  "k3_multiples": [2 ** (j / 2) for j in range(15)],
                  "k2_ds": [8, 12, 16, 24], "k3_ds": [6, 8, 10, 12], "n2": 1024, "m2": 64, "ridge2": 1e-3,
                  "hypothesis_examples": 2,
                  "kernel_d": 24, "kernel_multiple": 16, "kernel_seeds": 2, "kernel_rf_width": 2048,
                  "kernel_exponent_ds": [6, 8, 10, 12], "kernel_multiples": [2 ** (j / 2 - 3) for j in range(9)],
                  "kernel_exponent_seeds": 3,
                  "stage2_ds": [32, 128, 512, 2048], "stage2_n2": [2 ** j for j in range(3, 14)],
                  "corollary_ds": [8, 12, 16, 24], "onestep_multiples": [2 ** j for j in range(0, 8)]},
        "full": {"seeds": 8, "n_test": 16384, "multiples": [2 ** (j / 2) for j in range(13)],
                 "k3_multiples": [2 ** (j / 2) for j in range(15)],
                 "k2_ds": [16, 24, 32, 48], "k3_ds": [10, 14, 18, 24], "n2": 2048, "m2": 128, "ridge2": 1e-3,
                 "hypothesis_examples": 3,
                 "kernel_d": 48, "kernel_multiple": 16, "kernel_seeds": 3, "kernel_rf_width": 8192,
                 "kernel_exponent_ds": [8, 10, 12, 16], "kernel_multiples": [2 ** (j / 2 - 3) for j in range(9)],
                 "kernel_exponent_seeds": 4,
                 "stage2_ds": [32, 128, 512, 2048, 8192], "stage2_n2": [2 ** j for j in range(3, 15)],
                 "corollary_ds": [16, 24, 32, 48], "onestep_multiples": [2 ** j for j in range(0, 8)]},
    },
    # section5: experiment.figure2 and the joint-training conjecture (checks/check_section5.py,
    # checks/check_conjectures.py). ds: input dimensions; multiples: n grid in units of d³;
    # threshold_multiple: C of "past n = C·d³"; seeds per (d, n); m2: ReLU width (the paper: 1000;
    # quick: 100, enough for a 1-D cubic link and 10× cheaper); Adam lr / max_steps / eval_every /
    # patience (model.joint.StoppingRule); batch_size (None: full batch); n_test test points (2^18 in
    # quick: the paired loss gap's SE falls slowly under the heavy tails, 0.14 at 2^16, 0.06–0.11 at 2^18).
    # quick ds start at 5: at d = 4 (L = 4 components, E p⁶ = 242× its Gaussian value) the run-to-run
    # spread of joint training straddles the decision level, and the paper's regime is d >= 16.
    "section5": {
        "quick": {"ds": [5, 6], "multiples": [0.25, 1, 4, 16], "threshold_multiple": 16, "seeds": 13, "m2": 100,
                  "lr": 3e-2, "max_steps": 4000, "eval_every": 100, "patience": 10, "batch_size": None,
                  "n_test": 262144, "dtype": "float32"},
        "full": {"ds": [16, 24, 32, 40], "multiples": [0.25, 1, 4, 16], "threshold_multiple": 16, "seeds": 13,
                 "m2": 1000, "lr": 1e-2, "max_steps": 10000, "eval_every": 200, "patience": 10,
                 "batch_size": 16384, "n_test": 32768, "dtype": "float32"},
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
    # probes_training: training-side probes (checks/check_probes_training.py), stage 1 closed form.
    # d: dimension of the §5-feature probes (information exponent, input laws); n_multiple: n in
    # units of C(d+3, 3); few_components_d: d of the L = O(1) probe; few_samples_d: d per
    # feature degree k of the n-below-d^k probe; seeds per case; n_test test points.
    "probes_training": {
        "quick": {"d": 8, "seeds": 3, "n_multiple": 32, "n_test": 16384, "few_components_d": 12,
                  "few_samples_d": {2: 24, 3: 8}},
        "full": {"d": 12, "seeds": 6, "n_multiple": 64, "n_test": 65536, "few_components_d": 18,
                 "few_samples_d": {2: 48, 3: 12}},
    },
    # conjectures: checks/check_conjectures.py. joint_ds: d grid of the joint-vs-layerwise exponents
    # (the joint runs are the section5 sweep's, same sizes); layerwise_ds / layerwise_multiples: the
    # layerwise stage-1 grid (n in units of d³); threshold_level: n* is where corr(ĝ,p) reaches this
    # share of its exact limit (as the Theorem 1 checks do for k = 3); tensor_ds / tensor_n_multiple:
    # the general-tensor instances (n in units of C(d+3, 3)); multi_d / multi_n_multiple: the
    # two-feature target (k = 2, n in units of C(d+2, 2)); seeds; n_test test points.
    "conjectures": {
        "quick": {"joint_ds": [4, 5, 6], "layerwise_ds": [4, 5, 6],
                  "layerwise_multiples": [2.0 ** j for j in range(-2, 10)], "threshold_level": 0.75,
                  "tensor_ds": [4, 5, 6], "tensor_n_multiple": 128, "multi_d": 12, "multi_n_multiple": 32,
                  "seeds": 3, "n_test": 16384},
        "full": {"joint_ds": [16, 24, 32, 40], "layerwise_ds": [8, 12, 16, 20],
                 "layerwise_multiples": [2.0 ** j for j in range(-2, 6)], "threshold_level": 0.75,
                 "tensor_ds": [4, 5, 6, 7, 8], "tensor_n_multiple": 64, "multi_d": 24, "multi_n_multiple": 64,
                 "seeds": 5, "n_test": 65536},
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
