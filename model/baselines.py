"""Baselines on the same data (docs/paper.md §4): kernel ridge with rotation-invariant kernels, ridge on
random two-layer ReLU features, a two-layer ReLU network trained end to end, and an oracle ridge on
the exact orthonormal Hermite basis of degree <= k (the population target of stage 1).

Ridge convention, shared with :func:`model.layerwise.ridge_solve`: minimise
(1/n) Σ (f(x_i) - y_i)² + ξ ‖f‖², so kernel ridge has dual coefficients (K + nξ I)⁻¹ y; this is
scikit-learn's ``KernelRidge(alpha=n·ξ)``.

Kernels (all rotation invariant: functions of x·z, |x|, |z|), with x̃ = x/√d, or x̃ = (x/√d, 1)
when ``bias=True`` (a ReLU unit with a N(0, 1) bias):
- ``"polynomial"``: (γ x·z + c0)^degree, γ = 1/d by default (scikit-learn's ``poly`` kernel);
- ``"arccos"``: the order-1 arc-cosine kernel E_w[relu(w·x̃) relu(w·z̃)], w ~ N(0, I):
  |x̃||z̃| (sin θ + (π - θ) cos θ) / (2π), θ the angle between x̃ and z̃; the infinite-width limit
  of :func:`fit_random_features`' Gram;
- ``"ntk"``: the neural tangent kernel of a two-layer ReLU network with both layers trained:
  arccos(x̃, z̃) + (x̃·z̃)(π - θ)/(2π).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from theory.numeric import h_table
from theory.validation import nonnegative_integer

from .data import Dataset, ModelInputError, check_generator, check_positive_int
from .joint import StoppingRule, train_adam
from .layerwise import SolverError, ridge_solve

__all__ = [
    "KERNELS",
    "polynomial_kernel",
    "arccos_kernel",
    "relu_ntk_kernel",
    "kernel_matrix",
    "KernelRidgeModel",
    "fit_kernel_ridge",
    "RandomFeaturesModel",
    "fit_random_features",
    "TwoLayerReLU",
    "train_two_layer",
    "hermite_multi_indices",
    "hermite_features",
    "HermiteOracleModel",
    "fit_hermite_oracle",
    "plug_in_hermite_step",
]

KERNELS = ("polynomial", "arccos", "ntk")


def _check_pair(x: torch.Tensor, z: torch.Tensor) -> None:
    if x.ndim != 2 or z.ndim != 2 or x.shape[1] != z.shape[1]:
        raise ModelInputError(f"kernel inputs must be (n, d) and (m, d); got {tuple(x.shape)} and {tuple(z.shape)}")


def _lift(x: torch.Tensor, bias: bool) -> torch.Tensor:
    scaled = x / math.sqrt(x.shape[1])
    return torch.cat([scaled, torch.ones_like(scaled[:, :1])], dim=1) if bias else scaled


def polynomial_kernel(x: torch.Tensor, z: torch.Tensor, *, degree: int, gamma: float | None = None,
                      coef0: float = 1.0) -> torch.Tensor:
    """(γ x·z + c0)^degree, shape (n, m); γ defaults to 1/d."""
    _check_pair(x, z)
    degree = check_positive_int("degree", degree)
    gamma = 1.0 / x.shape[1] if gamma is None else gamma
    return (gamma * (x @ z.T) + coef0) ** degree


def _angles(xt: torch.Tensor, zt: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    norms = torch.outer(xt.norm(dim=1), zt.norm(dim=1))
    dot = xt @ zt.T
    cos = (dot / norms.clamp_min(torch.finfo(xt.dtype).tiny)).clamp(-1.0, 1.0)
    return dot, norms, torch.arccos(cos)


def arccos_kernel(x: torch.Tensor, z: torch.Tensor, *, bias: bool = False) -> torch.Tensor:
    """The order-1 arc-cosine kernel of x̃, z̃ (see the module docstring), shape (n, m)."""
    _check_pair(x, z)
    dot, norms, theta = _angles(_lift(x, bias), _lift(z, bias))
    return norms * (torch.sin(theta) + (math.pi - theta) * torch.cos(theta)) / (2 * math.pi)


def relu_ntk_kernel(x: torch.Tensor, z: torch.Tensor, *, bias: bool = False) -> torch.Tensor:
    """The two-layer ReLU NTK of x̃, z̃ (see the module docstring), shape (n, m)."""
    _check_pair(x, z)
    dot, norms, theta = _angles(_lift(x, bias), _lift(z, bias))
    first = norms * (torch.sin(theta) + (math.pi - theta) * torch.cos(theta)) / (2 * math.pi)
    return first + dot * (math.pi - theta) / (2 * math.pi)


def kernel_matrix(x: torch.Tensor, z: torch.Tensor, *, kernel: str, **params: Any) -> torch.Tensor:
    """The Gram K[i, j] = k(x_i, z_j) for a kernel named in :data:`KERNELS`."""
    if kernel == "polynomial":
        if "degree" not in params:
            raise ModelInputError("the polynomial kernel needs its degree: pass degree=... (k·q for a target "
                                  "g∘p, the degree of h)")
        return polynomial_kernel(x, z, **params)
    if kernel == "arccos":
        return arccos_kernel(x, z, **params)
    if kernel == "ntk":
        return relu_ntk_kernel(x, z, **params)
    raise ModelInputError(f"unknown kernel {kernel!r}: choose one of {', '.join(KERNELS)}")


@dataclass
class KernelRidgeModel:
    """A fitted kernel ridge predictor f(x) = Σ_i α_i k(x, x_i)."""

    x_train: torch.Tensor
    dual_coef: torch.Tensor
    kernel: str
    params: dict[str, Any] = field(default_factory=dict)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """f at the rows of x, called like the network (``model(x)``)."""
        K = kernel_matrix(x.to(self.x_train.device, self.x_train.dtype), self.x_train, kernel=self.kernel, **self.params)
        return K @ self.dual_coef

    predict = __call__  # scikit-learn's name, kept as an alias


def fit_kernel_ridge(x: torch.Tensor, y: torch.Tensor, *, kernel: str = "polynomial", ridge: float,
                     solve_dtype: torch.dtype = torch.float64, **params: Any) -> tuple[KernelRidgeModel, dict[str, Any]]:
    """Kernel ridge regression: α = (K + nξI)⁻¹ y by Cholesky (equals scikit-learn's
    ``KernelRidge(alpha=n·ξ)``). ``params`` go to the kernel (degree, gamma, coef0, bias)."""
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ModelInputError(f"need x (n, d) and y (n,); got {tuple(x.shape)} and {tuple(y.shape)}")
    if not (math.isfinite(ridge) and ridge > 0):
        raise ModelInputError(f"kernel ridge needs a ridge ξ > 0, got {ridge!r}")
    if not (torch.isfinite(x).all() and torch.isfinite(y).all()):
        raise ModelInputError("kernel ridge: the inputs or labels contain NaN or inf")
    t0 = time.perf_counter()
    xs = x.to(solve_dtype)
    K = kernel_matrix(xs, xs, kernel=kernel, **params)
    n = x.shape[0]
    K.diagonal().add_(n * ridge)
    chol, status = torch.linalg.cholesky_ex(K)
    if int(status) != 0:
        raise SolverError(f"Cholesky of the kernel Gram (n={n}, {kernel}) failed; raise the ridge")
    alpha = torch.cholesky_solve(y.to(solve_dtype).unsqueeze(1), chol).squeeze(1)
    model = KernelRidgeModel(xs, alpha, kernel, dict(params))
    return model, {"kernel": kernel, "ridge": ridge, "n": n, "seconds": time.perf_counter() - t0}


@dataclass
class RandomFeaturesModel:
    """f(x) = Σ_j w_j relu(W_j·x̃)/√width with frozen random W (rows N(0, I)), x̃ as in the kernels."""

    W: torch.Tensor
    weights: torch.Tensor
    bias: bool

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(_lift(x.to(self.W.device, self.W.dtype), self.bias) @ self.W.T) / math.sqrt(self.W.shape[0])

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """f at the rows of x, called like the network (``model(x)``)."""
        return self.features(x) @ self.weights

    predict = __call__  # scikit-learn's name, kept as an alias


def fit_random_features(x: torch.Tensor, y: torch.Tensor, *, width: int, ridge: float, generator: torch.Generator,
                        bias: bool = True, solver: str = "auto",
                        solve_dtype: torch.dtype = torch.float64) -> tuple[RandomFeaturesModel, dict[str, Any]]:
    """Ridge on ``width`` random two-layer ReLU features (first layer frozen, drawn from
    ``generator``); ΦΦᵀ tends to the ``arccos`` kernel Gram as width grows."""
    if x.ndim != 2:
        raise ModelInputError(f"inputs must be (n, d), got {tuple(x.shape)}")
    width = check_positive_int("width", width)
    gen = check_generator(generator)
    lifted = x.shape[1] + (1 if bias else 0)
    W = torch.randn(width, lifted, generator=gen, device=gen.device, dtype=torch.float64).to(x.device, x.dtype)
    model = RandomFeaturesModel(W, torch.zeros(width, device=x.device, dtype=x.dtype), bias)
    w, info = ridge_solve(model.features(x), y, ridge, solver=solver, solve_dtype=solve_dtype)
    model.weights = w
    return model, info


class TwoLayerReLU(nn.Module):
    """f(x) = Σ_j c_j relu(w_j·x + β_j), μP-style: w_j rows on the unit sphere, β_j ~ N(0, 1),
    c ~ N(0, 1/width²)."""

    def __init__(self, d: int, width: int, *, generator: torch.Generator, device=None, dtype=torch.float64):
        super().__init__()
        d, width = check_positive_int("d", d), check_positive_int("width", width)
        gen = check_generator(generator)
        where, f64 = gen.device, torch.float64
        W = torch.randn(width, d, generator=gen, device=where, dtype=f64)
        W = W / W.norm(dim=1, keepdim=True)
        beta = torch.randn(width, generator=gen, device=where, dtype=f64)
        c = torch.randn(width, generator=gen, device=where, dtype=f64) / width
        target = dict(device=device if device is not None else where, dtype=dtype)
        self.W, self.beta, self.c = (nn.Parameter(t.to(**target)) for t in (W, beta, c))

    @property
    def width(self) -> int:
        return int(self.W.shape[0])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 2 or x.shape[1] != self.W.shape[1]:
            raise ModelInputError(f"inputs must be (n, d={self.W.shape[1]}), got {tuple(x.shape)}")
        return torch.relu(torch.addmm(self.beta, x, self.W.T)) @ self.c


def train_two_layer(data: Dataset, *, width: int, generator: torch.Generator, lr: float = 1e-2,
                    stopping: StoppingRule = StoppingRule(), batch_size: int | None = None
                    ) -> tuple[TwoLayerReLU, dict[str, Any]]:
    """A two-layer ReLU network trained end to end with Adam (μP rates: W, β at lr, c at lr/width),
    under the same stopping rule as joint training."""
    model = TwoLayerReLU(data.d, width, generator=generator, device=data.x.device, dtype=data.x.dtype)
    groups = [{"params": [model.W, model.beta], "lr": lr}, {"params": [model.c], "lr": lr / model.width}]
    info = train_adam(model, data, param_groups=groups, stopping=stopping, generator=generator, batch_size=batch_size)
    info.update({"width": width, "lr": lr})
    return model, info


def hermite_multi_indices(d: int, k: int) -> np.ndarray:
    """All α in N^d with |α| <= k, shape (C(d+k, k), d), ordered by degree |α| then
    lexicographically descending (so row 0 is the constant, rows 1..d are x_1..x_d)."""
    d = check_positive_int("d", d)
    k = nonnegative_integer("the basis degree k", k, error=ModelInputError, type_error=ModelInputError)
    rows: list[tuple[int, ...]] = []

    def extend(prefix: tuple[int, ...], remaining_vars: int, degree: int) -> None:
        if remaining_vars == 1:
            rows.append(prefix + (degree,))
            return
        for first in range(degree, -1, -1):
            extend(prefix + (first,), remaining_vars - 1, degree - first)

    for degree in range(k + 1):
        extend((), d, degree)
    return np.asarray(rows, dtype=np.int64).reshape(-1, d)


def hermite_features(x: torch.Tensor, k: int, *, alphas: np.ndarray | None = None) -> torch.Tensor:
    """The orthonormal Hermite basis h_α(x) = Π_i h_{α_i}(x_i) at the rows of x, one column per
    multi-index of :func:`hermite_multi_indices` (or of ``alphas``), shape (n, D), float64 on x's
    device (1-D values from ``theory.numeric.h_table``)."""
    if x.ndim != 2:
        raise ModelInputError(f"inputs must be (n, d), got {tuple(x.shape)}")
    alphas = hermite_multi_indices(x.shape[1], k) if alphas is None else np.asarray(alphas, dtype=np.int64)
    if alphas.ndim != 2 or alphas.shape[1] != x.shape[1]:
        raise ModelInputError(f"multi-indices must be (D, d={x.shape[1]}), got {alphas.shape}")
    table = h_table(int(alphas.max(initial=0)), x)  # (n, d, k+1)
    idx = torch.as_tensor(alphas, device=x.device)
    columns = torch.ones(x.shape[0], alphas.shape[0], dtype=torch.float64, device=x.device)
    for i in range(x.shape[1]):
        if bool((idx[:, i] != 0).any()):
            columns = columns * table[:, i, idx[:, i]]
    return columns


@dataclass
class HermiteOracleModel:
    """f(x) = Σ_α c_α h_α(x) over |α| <= k: the oracle fitted on the exact orthonormal basis."""

    k: int
    alphas: np.ndarray
    coefficients: torch.Tensor

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """f at the rows of x, called like the network (``model(x)``)."""
        return hermite_features(x, self.k, alphas=self.alphas) @ self.coefficients.to(x.device)

    predict = __call__  # scikit-learn's name, kept as an alias


def fit_hermite_oracle(x: torch.Tensor, y: torch.Tensor, *, k: int, ridge: float = 0.0,
                       solve_dtype: torch.dtype = torch.float64) -> tuple[HermiteOracleModel, dict[str, Any]]:
    """Ridge (ordinary least squares at ξ = 0) of y on the C(d+k, k) orthonormal Hermite functions
    of degree <= k: the well-conditioned population reference of stage 1, whose population limit is
    P_{<=k} h (docs/paper.md §7). OLS needs n >= C(d+k, k)."""
    alphas = hermite_multi_indices(x.shape[1] if x.ndim == 2 else 1, k)
    phi = hermite_features(x, k, alphas=alphas)
    coefficients, info = ridge_solve(phi, y.to(phi.dtype), ridge, solver="primal", solve_dtype=solve_dtype)
    info["basis_size"] = int(alphas.shape[0])
    return HermiteOracleModel(k, alphas, coefficients), info


def plug_in_hermite_step(x: torch.Tensor, y: torch.Tensor, *, k: int, chunk: int = 8192) -> HermiteOracleModel:
    """The plug-in estimator ĝ = Σ_α ĉ_α h_α, ĉ_α = (1/n) Σ_i y_i h_α(x_i) over |α| <= k: one unit
    gradient step from 0 on the orthonormal Hermite features (Gaussian inputs). A baseline, named for
    what it is: it is not the one-step method of Nichani, Damian, Lee 2023 (``model.onestep``); its
    excess risk is Σ_α Var(y h_α)/n ≈ C(d+k, k)·E y²/n, so it needs n ∝ C(d+k, k), like least squares."""
    if x.ndim != 2 or y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise ModelInputError(f"need x (n, d) and y (n,), got {tuple(x.shape)} and {tuple(y.shape)}")
    alphas = hermite_multi_indices(x.shape[1], k)
    coefficients = torch.zeros(alphas.shape[0], dtype=torch.float64, device=x.device)
    for i in range(0, x.shape[0], chunk):
        coefficients += hermite_features(x[i:i + chunk], k, alphas=alphas).T @ y[i:i + chunk].to(torch.float64)
    return HermiteOracleModel(k, alphas, coefficients / x.shape[0])
