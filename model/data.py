"""Inputs, targets and data sets for the model side.

Input laws (every one with mean 0 and unit variance per coordinate, drawn from an explicit
``torch.Generator``):

- ``"gaussian"``: x ~ N(0, I_d), the paper's setting (docs/paper.md §1);
- ``"rademacher"``: independent uniform signs ±1;
- ``"sphere"``: uniform on the sphere of radius √d (E x_i² = 1 by symmetry);
- ``"cube"``: uniform on [-√3, √3]^d.

A target is anything with ``evaluate(x) -> (n,)`` for x an (n, d) float64 array (the
:class:`Target` protocol); the theory feature objects (``theory.features``) satisfy it, and so
does a hand-made class in a test. Targets are evaluated on the CPU in float64 and the values moved
to the caller's device and dtype, so targets never need to know about devices.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from theory.validation import positive_integer

__all__ = [
    "INPUT_LAWS",
    "ModelInputError",
    "Target",
    "Dataset",
    "sample_inputs",
    "evaluate_on",
    "make_dataset",
    "split_samples",
    "check_generator",
]

INPUT_LAWS = ("gaussian", "rademacher", "sphere", "cube")


class ModelInputError(ValueError):
    """Bad input to the model side: a shape, a size or an option that breaks an assumption."""


@runtime_checkable
class Target(Protocol):
    """Anything that evaluates a real function on a batch of inputs: (n, d) float64 -> (n,)."""

    def evaluate(self, x: Any) -> Any: ...


def check_positive_int(name: str, value: Any) -> int:
    """``value`` as an int >= 1, else a ModelInputError naming it (theory.validation's rule)."""
    return positive_integer(name, value, error=ModelInputError, type_error=ModelInputError)


def check_generator(generator: Any) -> torch.Generator:
    """The generator itself, or TypeError: every random draw takes an explicit torch.Generator."""
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"every random draw takes an explicit torch.Generator (keyword 'generator'), got {type(generator).__name__}"
        )
    return generator


def sample_inputs(n: int, d: int, *, generator: torch.Generator, law: str = "gaussian",
                  device: torch.device | str | None = None, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``n`` independent inputs in R^d from ``law`` (see the module docstring), shape (n, d).

    The draw happens on the generator's device (a CUDA generator draws on the GPU); the result is
    moved to ``device`` (default: the generator's device) and cast to ``dtype``.
    """
    n, d = check_positive_int("n", n), check_positive_int("d", d)
    gen = check_generator(generator)
    where = gen.device
    if law == "gaussian":
        x = torch.randn(n, d, generator=gen, device=where, dtype=torch.float64)
    elif law == "rademacher":
        x = torch.randint(0, 2, (n, d), generator=gen, device=where).to(torch.float64).mul_(2).sub_(1)
    elif law == "sphere":
        x = torch.randn(n, d, generator=gen, device=where, dtype=torch.float64)
        x = x / x.norm(dim=1, keepdim=True) * math.sqrt(d)
    elif law == "cube":
        x = (torch.rand(n, d, generator=gen, device=where, dtype=torch.float64) * 2 - 1) * math.sqrt(3.0)
    else:
        raise ModelInputError(f"unknown input law {law!r}: choose one of {', '.join(INPUT_LAWS)}")
    return x.to(device=device if device is not None else where, dtype=dtype)


def evaluate_on(function: Target, x: torch.Tensor) -> torch.Tensor:
    """``function.evaluate`` at the rows of ``x``, as a tensor on x's device and dtype.

    The function sees a CPU float64 tensor (n, d); it may answer with a numpy array or a tensor.
    A result of the wrong shape or with non-finite values is an error, never a silent NaN.
    """
    if not hasattr(function, "evaluate"):
        raise TypeError(f"a target needs an evaluate(x) method; got {type(function).__name__}")
    if x.ndim != 2:
        raise ModelInputError(f"inputs must be a 2-d batch (n, d), got shape {tuple(x.shape)}")
    values = function.evaluate(x.detach().to("cpu", torch.float64))
    if not isinstance(values, torch.Tensor):
        values = torch.as_tensor(np.asarray(values, dtype=np.float64))
    values = values.to(torch.float64)
    if values.shape != (x.shape[0],):
        raise ModelInputError(
            f"{type(function).__name__}.evaluate returned shape {tuple(values.shape)}; expected ({x.shape[0]},)"
        )
    if not torch.isfinite(values).all():
        raise ModelInputError(f"{type(function).__name__}.evaluate returned non-finite values")
    return values.to(device=x.device, dtype=x.dtype)


@dataclass(frozen=True)
class Dataset:
    """Inputs ``x`` (n, d) and labels ``y`` (n,) on one device, in one dtype."""

    x: torch.Tensor
    y: torch.Tensor

    def __post_init__(self) -> None:
        if self.x.ndim != 2 or self.y.ndim != 1 or self.x.shape[0] != self.y.shape[0]:
            raise ModelInputError(
                f"a data set needs x of shape (n, d) and y of shape (n,); got {tuple(self.x.shape)} and {tuple(self.y.shape)}"
            )
        if self.x.device != self.y.device or self.x.dtype != self.y.dtype:
            raise ModelInputError("x and y of a data set must share device and dtype")

    @property
    def n(self) -> int:
        return int(self.x.shape[0])

    @property
    def d(self) -> int:
        return int(self.x.shape[1])


def make_dataset(target: Target, n: int, *, d: int, generator: torch.Generator, law: str = "gaussian",
                 noise_std: float = 0.0, device: torch.device | str | None = None,
                 dtype: torch.dtype = torch.float64) -> Dataset:
    """A fresh data set: x from ``law``, y = target(x) + noise_std·N(0, 1) (noise drawn after x,
    from the same generator)."""
    x = sample_inputs(n, d, generator=generator, law=law, device=device, dtype=dtype)
    y = evaluate_on(target, x)
    if noise_std < 0 or not math.isfinite(noise_std):
        raise ModelInputError(f"noise_std must be finite and >= 0, got {noise_std!r}")
    if noise_std > 0:
        noise = torch.randn(n, generator=generator, device=generator.device, dtype=torch.float64)
        y = y + noise_std * noise.to(device=y.device, dtype=y.dtype)
    return Dataset(x, y)


def split_samples(target: Target, *, n1: int, n2: int, d: int, generator: torch.Generator,
                  law: str = "gaussian", noise_std: float = 0.0, device: torch.device | str | None = None,
                  dtype: torch.dtype = torch.float64) -> tuple[Dataset, Dataset]:
    """Algorithm 1's sample splitting: independent data sets D1 (n1, stage 1) and D2 (n2, stage 2),
    drawn in that order."""
    options = dict(d=d, generator=generator, law=law, noise_std=noise_std, device=device, dtype=dtype)
    return make_dataset(target, n1, **options), make_dataset(target, n2, **options)
