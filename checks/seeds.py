"""Per-test seeds: derived from (base seed, test node id), independent of xdist scheduling."""
from __future__ import annotations

import hashlib
import os

import numpy as np

__all__ = ["DEFAULT_BASE_SEED", "base_seed_from_env", "derive_seed", "numpy_generator", "torch_generator"]

DEFAULT_BASE_SEED = 20240101
SEED_ENV = "HIERPOLY_SEED"


def base_seed_from_env(option_value: int | None) -> int:
    """The run's base seed: ``--seed``, else $HIERPOLY_SEED, else the default."""
    if option_value is not None:
        return int(option_value)
    raw = os.environ.get(SEED_ENV)
    if raw is None or raw == "":
        return DEFAULT_BASE_SEED
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"${SEED_ENV} must be an integer, got {raw!r}") from None


def derive_seed(base_seed: int, node_id: str) -> int:
    """A 63-bit seed that depends only on the base seed and the test's node id."""
    digest = hashlib.sha256(f"{int(base_seed)}\x00{node_id}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1


def numpy_generator(seed: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(seed))


def torch_generator(seed: int, device: "str | None" = None):
    import torch

    gen = torch.Generator(device=device or "cpu")
    gen.manual_seed(seed)
    return gen
