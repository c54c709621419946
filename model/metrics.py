"""Test-set metrics (docs/paper.md §5): normalised test MSE, corr(ĝ, p), and ‖ĝ − P_{<=k} h‖².

All are Monte Carlo estimates on a fresh test set; those that are means over test points also
return their standard error (sd/√n_test), so a check can put an interval around them. Where the
target knows them exactly (``target.norm2()``, ``target.mean()``), Var h is exact.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

from theory.hermite import h_product

from .baselines import hermite_features, hermite_multi_indices
from .data import ModelInputError, Target, evaluate_on

__all__ = [
    "MeanEstimate",
    "mean_estimate",
    "squared_distance",
    "correlation",
    "target_variance",
    "normalised_test_mse",
    "projection_values",
    "feature_metrics",
    "HermiteCoordinates",
    "hermite_coordinates",
    "ols_sandwich_constant",
    "ols_excess_risk",
]


@dataclass(frozen=True)
class MeanEstimate:
    """A Monte Carlo mean with its standard error over ``n`` independent test points."""

    mean: float
    se: float
    n: int

    def scaled(self, factor: float) -> "MeanEstimate":
        return MeanEstimate(self.mean * factor, self.se * abs(factor), self.n)

    def as_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "se": self.se, "n": self.n}


def mean_estimate(values: torch.Tensor) -> MeanEstimate:
    """Mean of ``values`` (n,) and its standard error (unbiased sd over √n)."""
    if values.ndim != 1 or values.shape[0] < 2:
        raise ModelInputError(f"a mean with a standard error needs a vector of >= 2 values, got shape {tuple(values.shape)}")
    v = values.detach().to(torch.float64)
    return MeanEstimate(float(v.mean()), float(v.std(unbiased=True) / math.sqrt(v.shape[0])), int(v.shape[0]))


def _same_shape(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape != b.shape or a.ndim != 1:
        raise ModelInputError(f"need two vectors of one length, got {tuple(a.shape)} and {tuple(b.shape)}")


def squared_distance(a: torch.Tensor, b: torch.Tensor) -> MeanEstimate:
    """E(a − b)² over the test points, with its standard error."""
    _same_shape(a, b)
    return mean_estimate((a.detach().to(torch.float64) - b.detach().to(torch.float64)).square())


def correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Pearson correlation of two vectors of test-point values (0 when one is constant)."""
    _same_shape(a, b)
    a, b = a.detach().to(torch.float64), b.detach().to(torch.float64)
    a, b = a - a.mean(), b - b.mean()
    denominator = float(a.norm() * b.norm())
    return float(a @ b) / denominator if denominator > 0 else 0.0


def target_variance(target: Target) -> float:
    """Var h = E h² − (E h)², exactly: ``target.variance()`` (theory.features, the one place of the
    formula) where the target has it, else from ``target.norm2()`` and ``target.mean()``."""
    if hasattr(target, "variance"):
        try:
            variance = float(target.variance())
        except ValueError as err:  # a constant target: Var h = 0
            raise ModelInputError(f"Var h must be > 0 to normalise by it: {err}") from None
    else:
        try:
            second, first = float(target.norm2()), float(target.mean())
        except AttributeError:
            raise ModelInputError(f"{type(target).__name__} has no exact norm2()/mean(): pass Var h explicitly") from None
        variance = second - first * first
    if not variance > 0:
        raise ModelInputError(f"Var h must be > 0 to normalise by it, got {variance}")
    return variance


def normalised_test_mse(prediction: torch.Tensor, y: torch.Tensor, *, variance: float) -> MeanEstimate:
    """E(f − h)² / Var h on the test points, with its standard error."""
    if not variance > 0:
        raise ModelInputError(f"the normaliser Var h must be > 0, got {variance}")
    return squared_distance(prediction, y).scaled(1.0 / variance)


def projection_values(target: Target, x: torch.Tensor, *, max_degree: int) -> torch.Tensor:
    """P_{<=j} h at the rows of x (``target.evaluate_projection(x, max_degree=j)``), on x's device."""
    if not hasattr(target, "evaluate_projection"):
        raise ModelInputError(f"{type(target).__name__} has no evaluate_projection(x, max_degree=j)")

    class _Projection:
        def evaluate(self, points):
            return target.evaluate_projection(points, max_degree=max_degree)

    return evaluate_on(_Projection(), x)


def feature_metrics(feature: Callable[[torch.Tensor], torch.Tensor], target: Target, x_test: torch.Tensor, *,
                    k: int, variance: float | None = None) -> dict[str, Any]:
    """Stage-1 metrics of a learned feature ĝ on test inputs ``x_test``:

    - ``projection_error``: ‖ĝ − P_{<=k} h‖² / Var h (Monte Carlo mean and standard error);
    - ``corr_feature_p``: corr(ĝ, p) on the test points (``target.feature.evaluate``);
    - ``corr_projection_p``: corr(P_{<=k} h, p) on the same points (its population value is
      ``target.stage1_population_corr()``).
    """
    variance = target_variance(target) if variance is None else variance
    with torch.no_grad():
        g_values = feature(x_test).to(torch.float64)
    projection = projection_values(target, x_test, max_degree=k).to(torch.float64)
    p_values = evaluate_on(target.feature, x_test).to(torch.float64)
    return {
        "projection_error": squared_distance(g_values, projection).scaled(1.0 / variance).as_dict(),
        "corr_feature_p": correlation(g_values, p_values),
        "corr_projection_p": correlation(projection, p_values),
        "n_test": int(x_test.shape[0]),
    }


@dataclass(frozen=True)
class HermiteCoordinates:
    """A polynomial of degree <= ``degree`` as Σ_α coefficients[α] h_α over ``alphas`` (rows of
    :func:`model.baselines.hermite_multi_indices`); ``relative_residual`` says how well the values
    it was fitted to lie in that span (float64 rounding when they do)."""

    alphas: np.ndarray
    coefficients: np.ndarray  # (D,) or (D, m)
    relative_residual: float

    @property
    def degrees(self) -> np.ndarray:
        return self.alphas.sum(axis=1)

    def norm2(self) -> np.ndarray:
        """‖f‖² = Σ_α c_α² (Parseval), per column."""
        return np.square(self.coefficients).sum(axis=0)

    def variance(self) -> np.ndarray:
        """Var f = ‖f‖² − c_0²."""
        return self.norm2() - np.square(self.coefficients[0])

    def degree_part(self, low: int, high: int | None = None) -> np.ndarray:
        """The coefficients with low <= |α| <= high (default high = low), others zeroed."""
        high = low if high is None else high
        keep = (self.degrees >= low) & (self.degrees <= high)
        out = np.array(self.coefficients, copy=True)
        out[~keep] = 0.0
        return out


def hermite_coordinates(values: torch.Tensor, x: torch.Tensor, *, degree: int,
                        max_relative_residual: float | None = 1e-8) -> HermiteCoordinates:
    """The orthonormal Hermite coordinates of a polynomial of degree <= ``degree`` from its values
    at the rows of ``x`` (at least C(d+degree, degree) generic points; use ~3 times that), by least
    squares in float64. Exact up to rounding when the function lies in the span, which the
    relative residual ‖Hc − values‖/‖values‖ confirms; above ``max_relative_residual`` it is an
    error (the function is not a polynomial of that degree, or the points are too few).
    """
    H = hermite_features(x, degree)
    if H.shape[0] < H.shape[1]:
        raise ModelInputError(f"{H.shape[0]} points cannot determine {H.shape[1]} Hermite coordinates")
    v = values.detach().to(device=H.device, dtype=torch.float64)
    matrix = v.unsqueeze(1) if v.ndim == 1 else v
    if matrix.shape[0] != H.shape[0]:
        raise ModelInputError(f"values have {matrix.shape[0]} rows for {H.shape[0]} points")
    # QR on the (well-conditioned) orthonormal basis; a column scaling guards the higher degrees.
    scale = H.norm(dim=0).clamp_min(1e-300)
    coeffs = torch.linalg.lstsq((H / scale).cpu(), matrix.cpu()).solution / scale.cpu().unsqueeze(1)
    residual = float((H.cpu() @ coeffs - matrix.cpu()).norm() / matrix.norm().clamp_min(1e-300))
    if max_relative_residual is not None and residual > max_relative_residual:
        raise ModelInputError(
            f"the values are not a polynomial of degree <= {degree} on these points "
            f"(relative least-squares residual {residual:.3g} > {max_relative_residual:g})")
    out = coeffs.numpy()
    return HermiteCoordinates(hermite_multi_indices(x.shape[1], degree), out[:, 0] if v.ndim == 1 else out, residual)


def _linearisation_table(max_m: int, max_n: int) -> np.ndarray:
    """L[m, n, s] = coefficient of h_{m+n-2s} in h_m·h_n (float64; 0 where s > min(m, n))."""
    table = np.zeros((max_m + 1, max_n + 1, max_n + 1))
    for m in range(max_m + 1):
        for n in range(max_n + 1):
            for degree, c in h_product(m, n).items():
                table[m, n, (m + n - degree) // 2] = float(c)
    return table


def ols_sandwich_constant(alphas: np.ndarray, coefficients: np.ndarray, *, k: int) -> float:
    """S = E[r(x)² Σ_{|α|<=k} h_α(x)²] for r = Σ_β coefficients[β] h_β (x ~ N(0, I_d)), computed
    exactly up to float64 rounding by Hermite linearisation: S = Σ_{|α|<=k} ‖r·h_α‖².

    With r = h − P_{<=k} h, S/n is the asymptotic excess risk of least squares on the degree-<=k
    polynomials (the sandwich formula tr(Σ⁻¹ E[r² φφᵀ])/n with Σ = I in the orthonormal basis).
    Monte Carlo is no substitute: r²Σh_α² is heavy-tailed (docs/paper.md §7).
    """
    B = np.asarray(alphas, dtype=np.int64)
    c = np.asarray(coefficients, dtype=np.float64)
    if B.ndim != 2 or c.shape != (B.shape[0],):
        raise ModelInputError(f"need alphas (T, d) and coefficients (T,), got {B.shape} and {c.shape}")
    keep = c != 0
    B, c = B[keep], c[keep]
    if B.shape[0] == 0:
        return 0.0
    d = B.shape[1]
    table = _linearisation_table(int(B.max()), k)
    dims = (int(B.max()) + k + 1,) * d
    total = 0.0
    for alpha in hermite_multi_indices(d, k):
        gammas, weights = B, c
        for i in np.flatnonzero(alpha):
            a = int(alpha[i])
            parts_g, parts_w = [], []
            for s in range(a + 1):
                valid = gammas[:, i] >= s
                g = gammas[valid].copy()
                g[:, i] += a - 2 * s
                parts_g.append(g)
                parts_w.append(weights[valid] * table[gammas[valid, i], a, s])
            gammas, weights = np.concatenate(parts_g), np.concatenate(parts_w)
        keys = np.ravel_multi_index(gammas.T, dims)
        _, inverse = np.unique(keys, return_inverse=True)
        total += float(np.square(np.bincount(inverse.reshape(-1), weights=weights)).sum())
    return total


def ols_excess_risk(sandwich: float, *, n: int, dimension: int) -> float:
    """S/(n − D − 1): the asymptotic least-squares excess risk S/n with the exact finite-sample
    factor n/(n − D − 1) of a Gaussian design in D dimensions (valid for n > D + 1)."""
    if n <= dimension + 1:
        raise ModelInputError(f"the OLS risk formula needs n > D + 1 = {dimension + 1}, got n = {n}")
    return sandwich / (n - dimension - 1)
