"""Algorithm 1 (docs/paper.md §3): layerwise training of network (1), with sample splitting.

- Stage 1, on D1 (n1 samples): only u moves, c = 0 so f = ĝ; minimise
  (1/n1) Σ (ĝ(x_i) - y_i)² + ξ1 ‖u‖²: ridge regression on the features Φ = σ1(V x + s).
- Stage 2, on D2 (n2 samples): only c moves; minimise (1/n2) Σ (f(x_i) - y_i)² + ξ2 ‖c‖², ridge on
  the 1-D ReLU features Ψ = σ2(a·ĝ(x) + b) against the residual y - ĝ(x) (the skip connection).

Both stages are strongly convex. Each is solved in closed form (:func:`ridge_solve`, the default:
Cholesky on the m×m normal equations, or on the n×n dual when n < m) or by gradient descent with
weight decay on the one moving parameter (:func:`ridge_gradient_descent`, autograd on the loss),
which converges to the closed form.

Conditioning (docs/paper.md §7): Φ has rank at most C(d+k, k), so ΦᵀΦ is singular once m1 exceeds that,
and ill-conditioned within the span; the ridge ξ1 > 0 makes the problem well-posed. Solves run in
float64 by default (``solve_dtype``); a float32 solve is refused below a relative ridge
ξ/mean(Φ²) of 1e-4, where its Cholesky is unreliable.
"""
from __future__ import annotations

import math
import time
from typing import Any

import torch
from torch import nn

from .data import Dataset, ModelInputError, Target, check_positive_int, make_dataset, split_samples
from .network import ThreeLayerNet, init_three_layer

__all__ = [
    "SolverError",
    "NonFiniteLossError",
    "FLOAT32_MIN_RELATIVE_RIDGE",
    "ridge_solve",
    "ridge_gradient_descent",
    "fit_stage1",
    "fit_stage2",
    "fit_layerwise",
    "train_layerwise",
    "target_degree",
]

FLOAT32_MIN_RELATIVE_RIDGE = 1e-4
SOLVERS = ("auto", "primal", "dual")
METHODS = ("closed-form", "gd")


class SolverError(ValueError):
    """A linear solve that cannot be trusted: a singular or ill-conditioned Gram for its dtype."""


class NonFiniteLossError(FloatingPointError):
    """Training produced a non-finite loss; it stopped rather than return NaN parameters."""


def _check_ridge_problem(features: torch.Tensor, y: torch.Tensor, ridge: float, *, check_features: bool = True
                         ) -> tuple[int, int]:
    if features.ndim != 2:
        raise ModelInputError(f"features must be (n, m), got shape {tuple(features.shape)}")
    if y.ndim != 1 or y.shape[0] != features.shape[0]:
        raise ModelInputError(f"labels must be (n={features.shape[0]},), got shape {tuple(y.shape)}")
    if not (isinstance(ridge, (int, float)) and math.isfinite(ridge) and ridge >= 0):
        raise ModelInputError(f"the ridge ξ must be a finite number >= 0, got {ridge!r}")
    if not torch.isfinite(y).all() or (check_features and not torch.isfinite(features).all()):
        raise ModelInputError("features or labels contain non-finite values")
    return int(features.shape[0]), int(features.shape[1])


def ridge_solve(features: torch.Tensor, y: torch.Tensor, ridge: float, *, solver: str = "auto",
                solve_dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, dict[str, Any]]:
    """argmin_w (1/n)‖Φw - y‖² + ξ‖w‖² in closed form, by Cholesky.

    ``solver="primal"``: (ΦᵀΦ + nξI) w = Φᵀy (m×m); ``"dual"``: w = Φᵀ(ΦΦᵀ + nξI)⁻¹y (n×n);
    ``"auto"``: the smaller side. Returns w (in Φ's dtype and device) and an info dict with the
    solver used, the relative ridge ξ/mean(Φ²), and the seconds spent forming the Gram and solving.
    ξ = 0 is ordinary least squares and needs n >= m on the primal side. Besides the Gram (n·m² or
    n²·m multiply-adds) the work is O(m³) or O(n³): non-finite features are caught on the Gram.
    """
    n, m = _check_ridge_problem(features, y, ridge, check_features=False)
    if solver not in SOLVERS:
        raise ModelInputError(f"unknown solver {solver!r}: choose one of {', '.join(SOLVERS)}")
    side = ("dual" if n < m else "primal") if solver == "auto" else solver
    if ridge == 0 and (side == "dual" or n < m):
        raise ModelInputError(f"ordinary least squares (ξ = 0) needs n >= m and the primal solver; got n={n}, m={m}")
    phi = features.detach().to(solve_dtype)
    target = y.detach().to(solve_dtype)
    t0 = time.perf_counter()
    gram = phi.T @ phi if side == "primal" else phi @ phi.T
    if not torch.isfinite(gram).all():
        raise ModelInputError("the features contain non-finite values (their Gram is not finite)")
    scale = float(gram.diagonal().sum()) / (n * m)  # mean(Φ²), from the trace
    relative = ridge / scale if scale > 0 else math.inf
    if solve_dtype == torch.float32 and relative < FLOAT32_MIN_RELATIVE_RIDGE * (1 - 1e-6):
        raise SolverError(
            f"a float32 Cholesky on this Gram needs a relative ridge ξ/mean(Φ²) >= {FLOAT32_MIN_RELATIVE_RIDGE:g} "
            f"(got {relative:.3g}); raise the ridge or solve in float64"
        )
    gram.diagonal().add_(n * ridge)
    t1 = time.perf_counter()
    chol, status = torch.linalg.cholesky_ex(gram)
    if int(status) != 0:
        raise SolverError(
            f"Cholesky of the {side} Gram ({gram.shape[0]}×{gram.shape[0]}, {solve_dtype}) failed at pivot "
            f"{int(status)}: it is singular or too ill-conditioned at relative ridge {relative:.3g}; raise the ridge"
        )
    if side == "primal":
        w = torch.cholesky_solve((phi.T @ target).unsqueeze(1), chol).squeeze(1)
    else:
        w = phi.T @ torch.cholesky_solve(target.unsqueeze(1), chol).squeeze(1)
    if not torch.isfinite(w).all():
        raise SolverError(f"the {side} ridge solve returned non-finite weights; raise the ridge")
    t2 = time.perf_counter()
    info = {"solver": side, "ridge": float(ridge), "relative_ridge": relative, "gram_seconds": t1 - t0,
            "solve_seconds": t2 - t1, "n": n, "m": m}
    return w.to(features.dtype), info


def _ridge_objective(features: torch.Tensor, y: torch.Tensor, weights: torch.Tensor, ridge: float) -> torch.Tensor:
    return (features @ weights - y).square().mean() + ridge * weights.square().sum()


def _top_hessian_eigenvalue(features: torch.Tensor, ridge: float, iterations: int = 50) -> float:
    """λ_max of the objective's Hessian 2(ΦᵀΦ/n + ξI), by power iteration from a fixed start."""
    n, m = features.shape
    v = torch.cos(torch.arange(1, m + 1, device=features.device, dtype=features.dtype) * 0.7) + 1.5
    value = 0.0
    for _ in range(iterations):
        v = v / v.norm()
        w = features.T @ (features @ v) / n
        value = float(v @ w)
        v = w
    return 2 * (value + ridge)


def ridge_gradient_descent(features: torch.Tensor, y: torch.Tensor, ridge: float, *, weights: nn.Parameter,
                           max_steps: int = 10_000, tol: float = 1e-10, lr: float | None = None) -> dict[str, Any]:
    """Full-batch gradient descent with weight decay on ``weights`` (in place, via autograd) for
    (1/n)‖Φw - y‖² + ξ‖w‖², from the current value of ``weights``.

    Step size 1/λ_max(Hessian) unless ``lr`` is given. Stops when ‖∇‖ <= tol·‖∇ at start‖ or after
    ``max_steps``; a non-finite loss raises :class:`NonFiniteLossError`. Returns an info dict.
    """
    _check_ridge_problem(features, y, ridge)
    max_steps = check_positive_int("max_steps", max_steps)
    if weights.ndim != 1 or weights.shape[0] != features.shape[1]:
        raise ModelInputError(f"weights must be ({features.shape[1]},), got shape {tuple(weights.shape)}")
    phi, target = features.detach(), y.detach()
    step = lr if lr is not None else 1.0 / _top_hessian_eigenvalue(phi, ridge)
    t0 = time.perf_counter()
    grad0 = None
    reason = "max_steps"
    for steps in range(1, max_steps + 1):
        weights.grad = None
        loss = _ridge_objective(phi, target, weights, ridge)
        if not torch.isfinite(loss):
            raise NonFiniteLossError(f"gradient descent hit a non-finite loss ({float(loss.detach())}) at step {steps} (lr={step:.3g})")
        loss.backward()
        with torch.no_grad():
            gnorm = float(weights.grad.norm())
            grad0 = gnorm if grad0 is None else grad0
            if gnorm <= tol * grad0:
                reason = "gradient-tolerance"
                break
            weights.sub_(step * weights.grad)
    weights.grad = None
    return {"method": "gd", "steps": steps, "lr": step, "final_loss": float(loss.detach()), "gradient_ratio": gnorm / max(grad0, 1e-300),
            "stopped_because": reason, "seconds": time.perf_counter() - t0}


def _fit_weights(features: torch.Tensor, y: torch.Tensor, ridge: float, weights: nn.Parameter, *, method: str,
                 solver: str, solve_dtype: torch.dtype, gd_max_steps: int, gd_tol: float) -> dict[str, Any]:
    if method == "closed-form":
        w, info = ridge_solve(features, y, ridge, solver=solver, solve_dtype=solve_dtype)
        with torch.no_grad():
            weights.copy_(w)
        info["method"] = "closed-form"
    elif method == "gd":
        info = ridge_gradient_descent(features, y, ridge, weights=weights, max_steps=gd_max_steps, tol=gd_tol)
    else:
        raise ModelInputError(f"unknown method {method!r}: choose one of {', '.join(METHODS)}")
    with torch.no_grad():
        info["train_mse"] = float((features @ weights - y).square().mean())
    return info


def fit_stage1(model: ThreeLayerNet, data: Dataset, ridge: float, *, method: str = "closed-form",
               solver: str = "auto", solve_dtype: torch.dtype = torch.float64, gd_max_steps: int = 10_000,
               gd_tol: float = 1e-10) -> dict[str, Any]:
    """Stage 1 on ``data`` (D1): set u to the ridge solution on Φ = σ1(Vx + s) with c = 0.

    Sets c to 0 first (stage 1 trains ĝ alone: with c = 0, f = ĝ). Returns an info dict.
    """
    with torch.no_grad():
        model.c.zero_()
        phi = model.first_layer(data.x)
    return _fit_weights(phi, data.y, ridge, model.u, method=method, solver=solver, solve_dtype=solve_dtype,
                        gd_max_steps=gd_max_steps, gd_tol=gd_tol)


def fit_stage2(model: ThreeLayerNet, data: Dataset, ridge: float, *, method: str = "closed-form",
               solver: str = "auto", solve_dtype: torch.dtype = torch.float64, gd_max_steps: int = 10_000,
               gd_tol: float = 1e-10) -> dict[str, Any]:
    """Stage 2 on ``data`` (D2): set c to the ridge solution on Ψ = σ2(a·ĝ + b) against y - ĝ."""
    with torch.no_grad():
        g_values = model.feature(data.x)
        psi = model.link_features(g_values)
    return _fit_weights(psi, data.y - g_values, ridge, model.c, method=method, solver=solver,
                        solve_dtype=solve_dtype, gd_max_steps=gd_max_steps, gd_tol=gd_tol)


def fit_layerwise(model: ThreeLayerNet, data1: Dataset, data2: Dataset | None, *, ridge1: float, ridge2: float,
                  **options: Any) -> dict[str, Any]:
    """Stage 1 on ``data1``, then stage 2 on ``data2`` (skipped when None). ``options`` go to both
    stages (method, solver, solve_dtype, gd_max_steps, gd_tol)."""
    info: dict[str, Any] = {"stage1": fit_stage1(model, data1, ridge1, **options)}
    if data2 is not None:
        info["stage2"] = fit_stage2(model, data2, ridge2, **options)
    return info


def train_layerwise(target: Target, *, d: int, n1: int, n2: int, m1: int, m2: int, ridge1: float, ridge2: float,
                    generator: torch.Generator, k: int | None = None, sigma1: str = "hermite",
                    sigma1_degree: int | None = None, input_law: str = "gaussian", noise_std: float = 0.0,
                    method: str = "closed-form", solver: str = "auto", bias_scale: float = 1.0, b_dof: int = 9,
                    device: torch.device | str | None = None, dtype: torch.dtype = torch.float64,
                    solve_dtype: torch.dtype = torch.float64, gd_max_steps: int = 10_000,
                    gd_tol: float = 1e-10) -> tuple[ThreeLayerNet, dict[str, Any]]:
    """Algorithm 1 end to end: initialise network (1), draw D1 and D2, run both stages.

    ``k`` defaults to ``target.k``; σ1 has degree ``sigma1_degree`` (default k). Random draws, in
    order: the network, D1, D2, all from ``generator``; ``n2 = 0`` skips stage 2. Returns the
    trained model and an info dict (sizes, both stages' solver info, seconds).
    """
    k = target_degree(target, k)
    degree = k if sigma1_degree is None else sigma1_degree
    n2 = int(n2)
    if n2 < 0:
        raise ModelInputError(f"n2 must be >= 0, got {n2}")
    t0 = time.perf_counter()
    model = init_three_layer(d, m1, m2, generator=generator, k=degree, sigma1=sigma1, bias_scale=bias_scale,
                             b_dof=b_dof, device=device, dtype=dtype)
    data_options = dict(d=d, generator=generator, law=input_law, noise_std=noise_std, device=device, dtype=dtype)
    if n2 > 0:
        data1, data2 = split_samples(target, n1=n1, n2=n2, **data_options)
    else:
        data1, data2 = make_dataset(target, n1, **data_options), None
    info = fit_layerwise(model, data1, data2, ridge1=ridge1, ridge2=ridge2, method=method, solver=solver,
                         solve_dtype=solve_dtype, gd_max_steps=gd_max_steps, gd_tol=gd_tol)
    info.update({"d": d, "k": k, "sigma1": model.sigma1.name, "n1": n1, "n2": n2, "m1": m1, "m2": m2,
                 "input_law": input_law, "seconds": time.perf_counter() - t0})
    return model, info


def target_degree(target: Target, k: int | None) -> int:
    """The feature degree k: the one given, else the target's ``k`` (ModelInputError when neither)."""
    if k is None:
        k = getattr(target, "k", None)
        if k is None:
            raise ModelInputError("pass k: the target has no attribute k (the degree of its feature p)")
    return check_positive_int("the feature degree k", k)
