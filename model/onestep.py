"""The one-step layerwise method of Nichani, Damian, Lee 2023 (NDL, arXiv 2305.06986), the
comparison of the corollary for quadratic features (docs/paper.md §4).

What we implement (the network and the names are ours; NDL write m1, m2 for the widths)::

    h(x)   = σ1(V x) / √inner_width          V ∈ R^{inner_width×d}: random unit rows, frozen
    K(x, x') = h(x)·h(x')                     = σ1(Vx)·σ1(Vx') / inner_width
    z(x)   = W h(x) + b                       W ∈ R^{width×inner_width}, b ∈ R^{width}
    f(x)   = Σ_i r_i σ2(z_i(x)),  σ2 = ReLU,  readout r = a / width at initialisation, a = ±1

1. Initialisation: W = 0, b = ``initial_bias`` > 0 for every neuron, a = +1 on the first half of
   the neurons and −1 on the second. The output f ≡ (1/width) Σ a_i σ2(b_i) = 0 is constant.
2. One gradient step on W alone over D1 (n1 samples), on L̂1(W) = (1/2n1) Σ_j (f(x_j) − y_j)², with
   step η1·width (the mean-field scaling: each neuron moves by O(η1) whatever the width). At W = 0
   the gradient is rank one, and the step gives exactly

       w_i = η1 a_i σ2'(b_i) · (1/n1) Σ_j (y_j − f0) h(x_j),
       w_i·h(x) = η1 a_i σ2'(b_i) · K̂h(x),   K̂h(x) = (1/n1) Σ_j K(x, x_j)(y_j − f0),

   with f0 = 0 here, so every neuron's pre-activation moves by ±η1 times the kernel-smoothed
   label: the learned feature ``feature(x)`` = K̂h(x).
3. New biases b_i ~ ``bias_scale``·t_{bias_dof} (independent Student-t draws).
4. Ridge regression of y on the features σ2(z(x)) over D2 (n2 samples) for the readout r:
   minimise (1/n2) Σ_j (f(x_j) − y_j)² + ξ‖r‖² (the ridge convention of :mod:`model`).

Width: K is the finite-width kernel of the inner_width random features, not its infinite-width
limit. With σ1 = h_2 on the sphere the learned feature's correlation with p stops near
(1 + C(d+1, 2)/inner_width)^{-1/2} however large n1 is (measured: 0.97 at inner_width = 16·C(d+1, 2)
for d = 8, 12, 16), so size inner_width to the precision the comparison needs.

Memory is O(n·width + n·inner_width) per chunk of inputs: W is stored as its rank-one factors
(``step_scales`` ⊗ ``direction``), and no n×n kernel matrix is formed.

From their text [NDL, quoted from their experiments section, via a reproducibility summary of the
NeurIPS version; we could not read the full paper offline]: "We ran Algorithm 1 on both the single
index and quadratic feature settings", Algorithm 1 being a "Layer-wise training algorithm"; "We
optimize the hyperparameters η1, λ using grid search over a holdout validation set of size 2^15
and report the final error over a test set of size 2^15"; 5 seeds, medians with min–max bands; the
metric is the test loss and "the linear correlation between the learned feature map ϕ(x) and the
true intermediate feature" xᵀAx; inputs for quadratic features are uniform on a sphere ("ν the
uniform measure on X_d"). Their summary: the network learns a feature ≈ η̄·K f* (Theorem 1), which
gives n = Θ̃(d⁴) for quadratic features; a 2025 revision improved the bound from ‖Kf*‖⁻² toward
‖K‖_op·‖Kf*‖⁻² [NDL v3 abstract note].

Our reconstruction (not read in their text; each is a parameter where it is a choice): the exact
normalisations (1/√inner_width in h, the mean-field step η1·width, the readout a/width); the
constant positive initial bias and the paired signs a that make f0 = 0, so the step is exactly
K̂h; the law of the re-sampled biases (Student-t, as Algorithm 1's b in :mod:`model.network`);
ridge on the readout solved in closed form (their stage 2 runs gradient descent with weight decay,
which converges to it); σ1 = ReLU by default (``"hermite"`` gives h_k, the degree-k part only);
Gaussian inputs by default, the sphere with ``input_law="sphere"``.

Why the input law matters (derived here, docs/paper.md §1 setting): for Gaussian x, the quadratic
forms split into the traceless part and the radial function |x|² − d, and K amplifies the radial
one by ≈ d/2 relative to the traceless one (for σ1 = h_2: eigenvalues 1/d against 2/(d(d+2))).
P_2 h has a radial component of norm O(d^{-1/2}) (Lemma 2's error, and tr A when Σλ_i ≠ 0), so the
Gaussian one-step feature is dominated by |x|² as d grows. On the sphere |x|² is constant and the
issue disappears, which is NDL's setting.
"""
from __future__ import annotations

import math
import time
from typing import Any, Callable, Sequence

import torch
from torch import nn

from .data import (
    Dataset,
    ModelInputError,
    Target,
    check_generator,
    check_positive_int,
    make_dataset,
    split_samples,
)
from .layerwise import target_degree, ridge_solve
from .network import PolynomialActivation, make_sigma1, student_t

__all__ = [
    "DEFAULT_ETA1_MULTIPLES",
    "DEFAULT_RIDGE_GRID",
    "OneStepNet",
    "init_one_step",
    "take_one_step",
    "resample_biases",
    "fit_readout",
    "train_one_step",
    "select_one_step_hyperparameters",
]

# η1 grid in units of 1/rms(K̂h − mean) on D2, so that η1·K̂h is of order one against the O(1)
# biases whatever d, σ1 and the widths; a factor 2 apart, spanning 1/64 .. 8 (small multiples win
# when K̂h carries a large constant offset, e.g. σ1 = ReLU).
DEFAULT_ETA1_MULTIPLES = tuple(2.0 ** j for j in range(-6, 4))
DEFAULT_RIDGE_GRID = tuple(10.0 ** j for j in range(-8, 1))
CHUNK = 8192  # inputs per block: memory O(CHUNK·width), never n×n


def _relu_sigma1() -> nn.Module:
    act = nn.ReLU()
    act.name = "relu"
    return act


def _make_inner_activation(kind: "str | PolynomialActivation", degree: int | None) -> nn.Module:
    if kind == "relu":
        return _relu_sigma1()
    if degree is None:
        raise ModelInputError(f"σ1 {kind!r} is a polynomial: pass its degree (sigma1_degree, or a target with k)")
    return make_sigma1(kind, degree)


class OneStepNet(nn.Module):
    """The three-layer network of NDL 2023 (module docstring): ``forward(x)`` is f, ``feature(x)``
    is the learned feature K̂h(x) = h(x)·direction, ``W`` the second layer (materialised on
    request from its rank-one factors). All state is in buffers: nothing here is trained by
    autograd; the step and the ridge are closed forms."""

    def __init__(self, *, V: torch.Tensor, sigma1: nn.Module, signs: torch.Tensor, initial_bias: float):
        super().__init__()
        if V.ndim != 2:
            raise ModelInputError(f"V must be (inner_width, d), got shape {tuple(V.shape)}")
        if signs.ndim != 1 or signs.shape[0] < 2:
            raise ModelInputError(f"the outer signs a must be a vector of length width >= 2, got shape {tuple(signs.shape)}")
        width = signs.shape[0]
        self.sigma1 = sigma1
        self.register_buffer("V", V)
        self.register_buffer("signs", signs)
        self.register_buffer("b", torch.full((width,), float(initial_bias), dtype=V.dtype, device=V.device))
        self.register_buffer("readout", signs / width)
        self.register_buffer("direction", torch.zeros(V.shape[0], dtype=V.dtype, device=V.device))
        self.register_buffer("step_scales", torch.zeros(width, dtype=V.dtype, device=V.device))
        self.register_buffer("offset", torch.zeros((), dtype=V.dtype, device=V.device))
        self.eta1: float | None = None  # set by take_one_step

    d = property(lambda self: int(self.V.shape[1]))
    width = property(lambda self: int(self.signs.shape[0]))
    inner_width = property(lambda self: int(self.V.shape[0]))

    @property
    def W(self) -> torch.Tensor:
        """The second layer, (width, inner_width): zero before the step, rank one after it."""
        return torch.outer(self.step_scales, self.direction)

    def _check_x(self, x: torch.Tensor) -> None:
        if x.ndim != 2 or x.shape[1] != self.d:
            raise ModelInputError(f"inputs must be (n, d={self.d}), got shape {tuple(x.shape)}")

    def inner_features(self, x: torch.Tensor) -> torch.Tensor:
        """h(x) = σ1(V x)/√inner_width, shape (n, inner_width); K(x, x') = h(x)·h(x')."""
        self._check_x(x)
        return self.sigma1(x @ self.V.T) / math.sqrt(self.inner_width)

    def feature(self, x: torch.Tensor) -> torch.Tensor:
        """The learned feature K̂h(x) = (1/n1) Σ_j K(x, x_j)(y_j − f0), shape (n,) (0 before the step)."""
        self._check_x(x)
        return _chunked(lambda block: self.inner_features(block) @ self.direction, x)

    def step_preactivation(self, x: torch.Tensor) -> torch.Tensor:
        """W h(x) = step_scales ⊗ K̂h(x), shape (n, width): the part of z the step put there."""
        return torch.outer(self.feature(x), self.step_scales)

    def hidden_from_feature(self, feature_values: torch.Tensor) -> torch.Tensor:
        """σ2(z) given K̂h at the inputs: ReLU(K̂h ⊗ step_scales + b), shape (n, width)."""
        if feature_values.ndim != 1:
            raise ModelInputError(f"feature values must be a vector (n,), got shape {tuple(feature_values.shape)}")
        return torch.relu(torch.addr(self.b, feature_values, self.step_scales))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_x(x)
        return _chunked(lambda block: self.hidden_from_feature(self.feature(block)) @ self.readout + self.offset, x)

    def extra_repr(self) -> str:
        return f"d={self.d}, width={self.width}, inner_width={self.inner_width}, σ1={getattr(self.sigma1, 'name', self.sigma1)}"


def _chunked(function: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    if x.shape[0] <= CHUNK:
        return function(x)
    return torch.cat([function(x[i:i + CHUNK]) for i in range(0, x.shape[0], CHUNK)])


def init_one_step(d: int, width: int, inner_width: int, *, generator: torch.Generator,
                  sigma1: "str | PolynomialActivation" = "relu", sigma1_degree: int | None = None,
                  initial_bias: float = 1.0, device: torch.device | str | None = None,
                  dtype: torch.dtype = torch.float64) -> OneStepNet:
    """The network at initialisation: V with rows uniform on the unit sphere (the only random draw,
    float64 on the generator's device, then moved), W = 0, b = ``initial_bias``, a = (+1,…,+1,
    −1,…,−1). ``width`` must be even (the pairing makes f0 = 0) and ``initial_bias`` > 0 (so
    σ2'(b) = 1 and every neuron takes the step)."""
    d, width, inner_width = (check_positive_int("d", d), check_positive_int("width", width),
                             check_positive_int("inner_width", inner_width))
    if width % 2:
        raise ModelInputError(f"width must be even: a = +1 on one half and −1 on the other makes the initial output 0; got {width}")
    if not (math.isfinite(initial_bias) and initial_bias > 0):
        raise ModelInputError(f"initial_bias must be finite and > 0 (σ2 = ReLU has σ2'(b) = 0 for b <= 0, so "
                              f"no neuron would move), got {initial_bias!r}")
    act = _make_inner_activation(sigma1, sigma1_degree)
    gen = check_generator(generator)
    V = torch.randn(inner_width, d, generator=gen, device=gen.device, dtype=torch.float64)
    V = V / V.norm(dim=1, keepdim=True)
    signs = torch.cat([torch.ones(width // 2, dtype=torch.float64), -torch.ones(width // 2, dtype=torch.float64)])
    where = dict(device=device if device is not None else gen.device, dtype=dtype)
    return OneStepNet(V=V.to(**where), sigma1=act, signs=signs.to(**where), initial_bias=initial_bias)


def take_one_step(net: OneStepNet, data: Dataset, *, eta1: float, initial_output: str = "zero") -> dict[str, Any]:
    """The one gradient step on W over ``data`` (D1), in place, from W = 0 (module docstring, step 2).

    Sets ``direction`` = (1/n1) Σ_j (y_j − f0) h(x_j) and ``step_scales`` = η1·a·σ2'(b), so that
    W = step_scales ⊗ direction = −η1·width·∇_W L̂1 exactly. ``initial_output="zero"``: f0 = 0 (the
    paired initialisation, the step smooths y itself); ``"label-mean"``: an output offset is first
    set to the D1 label mean, so f0 = mean(y) and the step smooths y − mean(y) [our variant: it
    removes the μ_0·E h constant that K adds when E h ≠ 0, e.g. on the sphere]. Returns an info
    dict (f0, the rms of K̂h on D1, seconds).
    """
    if not (isinstance(eta1, (int, float)) and math.isfinite(eta1) and eta1 > 0):
        raise ModelInputError(f"the step size η1 must be a finite number > 0, got {eta1!r}")
    if bool(net.step_scales.any()):
        raise ModelInputError("take_one_step needs the network at W = 0 (its initialisation); it already took its step")
    if data.d != net.d:
        raise ModelInputError(f"D1 has inputs in R^{data.d}, the network expects d = {net.d}")
    t0 = time.perf_counter()
    with torch.no_grad():
        if initial_output == "label-mean":
            net.offset.fill_(float(data.y.mean()))
        elif initial_output != "zero":
            raise ModelInputError(f"unknown initial_output {initial_output!r}: choose 'zero' or 'label-mean'")
        f0 = float(torch.relu(net.b) @ net.readout + net.offset)  # f at W = 0, the same at every input
        residual = data.y - f0
        direction = torch.zeros_like(net.direction)
        for i in range(0, data.n, CHUNK):
            direction += net.inner_features(data.x[i:i + CHUNK]).T @ residual[i:i + CHUNK]
        net.direction.copy_(direction / data.n)
        net.step_scales.copy_(eta1 * net.signs * (net.b > 0).to(net.b.dtype))
        net.eta1 = float(eta1)
        values = net.feature(data.x)
    if not torch.isfinite(values).all():
        raise ModelInputError("the learned feature is not finite on D1 (labels or σ1 overflow)")
    return {"f0": f0, "feature_rms_d1": float(values.square().mean().sqrt()), "eta1": float(eta1),
            "seconds": time.perf_counter() - t0}


def resample_biases(net: OneStepNet, *, generator: torch.Generator, bias_scale: float = 1.0, bias_dof: int = 9) -> None:
    """Step 3: new biases b_i = bias_scale·t_{bias_dof}, drawn in float64 on the generator's device."""
    if not (math.isfinite(bias_scale) and bias_scale > 0):
        raise ModelInputError(f"bias_scale must be finite and > 0, got {bias_scale!r}")
    b = student_t((net.width,), bias_dof, generator=check_generator(generator)) * bias_scale
    with torch.no_grad():
        net.b.copy_(b.to(device=net.b.device, dtype=net.b.dtype))


def fit_readout(net: OneStepNet, data: Dataset, ridge: float, *, solver: str = "auto",
                solve_dtype: torch.dtype = torch.float64) -> dict[str, Any]:
    """Step 4: the readout r = argmin (1/n2)‖σ2(z(X2)) r − y‖² + ξ‖r‖², in place (closed form)."""
    if data.d != net.d:
        raise ModelInputError(f"D2 has inputs in R^{data.d}, the network expects d = {net.d}")
    with torch.no_grad():
        hidden = net.hidden_from_feature(net.feature(data.x))
        target = data.y - net.offset
        r, info = ridge_solve(hidden, target, ridge, solver=solver, solve_dtype=solve_dtype)
        net.readout.copy_(r)
        info["train_mse"] = float((hidden @ r - target).square().mean())
    return info


def _check_step_options(eta_or_grid: Any, ridge_or_grid: Any) -> None:
    for name, values in (("η1", eta_or_grid), ("ridge", ridge_or_grid)):
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ModelInputError(f"every {name} must be a finite number >= 0, got {v!r}")


def _prepare(target: Target, *, d: int, n1: int, n2: int, width: int, inner_width: int | None,
             generator: torch.Generator, sigma1, sigma1_degree, k, initial_bias, input_law, noise_std,
             device, dtype) -> tuple[OneStepNet, Dataset, Dataset, int | None]:
    """The draws common to training and selection, in order: V, D1, D2 (the biases come later)."""
    n1, n2 = check_positive_int("n1", n1), check_positive_int("n2", n2)
    degree = None
    if sigma1 != "relu":
        degree = sigma1_degree if sigma1_degree is not None else target_degree(target, k)
    net = init_one_step(d, width, width if inner_width is None else inner_width, generator=generator,
                        sigma1=sigma1, sigma1_degree=degree, initial_bias=initial_bias, device=device, dtype=dtype)
    data1, data2 = split_samples(target, n1=n1, n2=n2, d=d, generator=generator, law=input_law,
                                 noise_std=noise_std, device=device, dtype=dtype)
    return net, data1, data2, degree


def train_one_step(target: Target, *, d: int, n1: int, n2: int, width: int, inner_width: int | None = None,
                   eta1: float, ridge: float, generator: torch.Generator,
                   sigma1: "str | PolynomialActivation" = "relu", sigma1_degree: int | None = None,
                   k: int | None = None, initial_bias: float = 1.0, initial_output: str = "zero",
                   bias_scale: float = 1.0, bias_dof: int = 9, input_law: str = "gaussian", noise_std: float = 0.0, solver: str = "auto",
                   device: torch.device | str | None = None, dtype: torch.dtype = torch.float64
                   ) -> tuple[OneStepNet, dict[str, Any]]:
    """NDL 2023's method end to end (module docstring): initialise, step on D1, new biases, ridge
    on D2. ``inner_width`` defaults to ``width``; σ1 = ``"relu"``, or ``"hermite"``/``"monomial"``
    of degree ``sigma1_degree`` (default k, itself ``target.k`` by default). Random draws, in
    order: V, D1, D2, the new biases, all from ``generator``. Returns the model and an info dict."""
    _check_step_options([eta1], [ridge])
    t0 = time.perf_counter()
    net, data1, data2, degree = _prepare(target, d=d, n1=n1, n2=n2, width=width, inner_width=inner_width,
                                         generator=generator, sigma1=sigma1, sigma1_degree=sigma1_degree, k=k,
                                         initial_bias=initial_bias, input_law=input_law, noise_std=noise_std,
                                         device=device, dtype=dtype)
    step = take_one_step(net, data1, eta1=eta1, initial_output=initial_output)
    resample_biases(net, generator=generator, bias_scale=bias_scale, bias_dof=bias_dof)
    readout = fit_readout(net, data2, ridge, solver=solver)
    info = {"method": "one-step (NDL 2023)", "d": d, "n1": n1, "n2": n2, "width": net.width,
            "inner_width": net.inner_width, "sigma1": getattr(net.sigma1, "name", str(net.sigma1)),
            "sigma1_degree": degree, "eta1": float(eta1), "ridge": float(ridge), "input_law": input_law,
            "initial_bias": initial_bias, "initial_output": initial_output, "bias_scale": bias_scale,
            "bias_dof": bias_dof, "step": step, "readout": readout, "seconds": time.perf_counter() - t0}
    return net, info


def _ridge_path(hidden: torch.Tensor, y: torch.Tensor, ridges: Sequence[float]) -> torch.Tensor:
    """Readouts for every ridge at once, (width, len(ridges)): one eigendecomposition of ΨᵀΨ/n."""
    n = hidden.shape[0]
    gram = hidden.T @ hidden / n
    values, vectors = torch.linalg.eigh(gram)
    projected = vectors.T @ (hidden.T @ y / n)
    shrink = 1.0 / (values.clamp_min(0)[:, None] + torch.as_tensor(list(ridges), dtype=gram.dtype, device=gram.device))
    return vectors @ (shrink * projected[:, None])


def select_one_step_hyperparameters(target: Target, *, d: int, n1: int, n2: int, width: int,
                                    inner_width: int | None = None, generator: torch.Generator,
                                    n_validation: int = 2 ** 15, eta1_grid: Sequence[float] | None = None,
                                    eta1_multiples: Sequence[float] = DEFAULT_ETA1_MULTIPLES,
                                    ridge_grid: Sequence[float] = DEFAULT_RIDGE_GRID,
                                    sigma1: "str | PolynomialActivation" = "relu", sigma1_degree: int | None = None,
                                    k: int | None = None, initial_bias: float = 1.0, initial_output: str = "zero",
                                    bias_scale: float = 1.0, bias_dof: int = 9, input_law: str = "gaussian", noise_std: float = 0.0,
                                    device: torch.device | str | None = None, dtype: torch.dtype = torch.float64
                                    ) -> tuple[OneStepNet, dict[str, Any]]:
    """NDL's protocol: η1 and the ridge ξ by grid search on a held-out validation set (theirs had
    2^15 points; ``n_validation``), the criterion the validation MSE. Deterministic given the
    generator: the draws are those of :func:`train_one_step` (V, D1, D2, new biases), then the
    validation set, so the returned model equals ``train_one_step`` with the same seed at the
    chosen (η1, ξ).

    η1 grid: ``eta1_grid`` (absolute) when given, else ``eta1_multiples`` × 1/rms(K̂h − mean K̂h)
    on D2 (so η1·K̂h is O(1) against the O(1) biases). K̂h does not depend on η1, so it is computed
    once; each η1 costs one width×width eigendecomposition, each ξ a matrix product. Ridges must be
    > 0. Returns the model refitted at the chosen pair and an info dict with the whole grid.
    """
    grid_eta = list(eta1_multiples if eta1_grid is None else eta1_grid)
    ridges = list(ridge_grid)
    if not grid_eta or not ridges:
        raise ModelInputError("the η1 and ridge grids must be non-empty")
    _check_step_options(grid_eta, ridges)
    if min(grid_eta) <= 0 or min(ridges) <= 0:
        raise ModelInputError("grid search needs every η1 > 0 and every ridge > 0 (a ridge path with ξ = 0 is singular)")
    n_validation = check_positive_int("n_validation", n_validation)
    t0 = time.perf_counter()
    options = dict(d=d, n1=n1, n2=n2, width=width, inner_width=inner_width, generator=generator, sigma1=sigma1,
                   sigma1_degree=sigma1_degree, k=k, initial_bias=initial_bias, input_law=input_law,
                   noise_std=noise_std, device=device, dtype=dtype)
    net, data1, data2, degree = _prepare(target, **options)
    step = take_one_step(net, data1, eta1=1.0, initial_output=initial_output)  # K̂h is the same for every η1; only the scales change
    resample_biases(net, generator=generator, bias_scale=bias_scale, bias_dof=bias_dof)
    validation = make_dataset(target, n_validation, d=d, generator=generator, law=input_law, noise_std=noise_std,
                              device=device, dtype=dtype)
    with torch.no_grad():
        phi2, phi_val = net.feature(data2.x), net.feature(validation.x)
        scale = float((phi2 - phi2.mean()).square().mean().sqrt())
        if eta1_grid is None:
            if not scale > 0:
                raise ModelInputError("the learned feature is constant on D2 (zero labels?): give eta1_grid explicitly")
            grid_eta = [m / scale for m in grid_eta]
        unit_scales = net.step_scales.clone()
        variance = float(validation.y.var())
        table = []
        for eta in grid_eta:
            net.step_scales.copy_(unit_scales * eta)
            readouts = _ridge_path(net.hidden_from_feature(phi2), data2.y - net.offset, ridges)
            errors = torch.zeros(len(ridges), dtype=torch.float64, device=phi_val.device)
            for i in range(0, n_validation, CHUNK):
                block = net.hidden_from_feature(phi_val[i:i + CHUNK]) @ readouts + net.offset
                errors += (block - validation.y[i:i + CHUNK, None]).square().sum(0).to(torch.float64)
            for ridge, err in zip(ridges, (errors / n_validation).tolist()):
                table.append({"eta1": eta, "ridge": ridge, "validation_mse": err,
                              "normalised": err / variance if variance > 0 else math.inf})
        net.step_scales.copy_(unit_scales)
    finite = [row for row in table if math.isfinite(row["validation_mse"])]
    if not finite:
        raise ModelInputError("every grid point gave a non-finite validation error")
    best = min(finite, key=lambda row: row["validation_mse"])
    # Refit at the chosen pair exactly as train_one_step does (same draws, Cholesky ridge).
    with torch.no_grad():
        net.step_scales.mul_(best["eta1"])
    net.eta1 = best["eta1"]
    readout = fit_readout(net, data2, best["ridge"])
    on_edge = {"eta1": best["eta1"] in (min(grid_eta), max(grid_eta)), "ridge": best["ridge"] in (min(ridges), max(ridges))}
    info = {"method": "one-step (NDL 2023), grid-searched", "d": d, "n1": n1, "n2": n2, "width": net.width,
            "inner_width": net.inner_width, "sigma1": getattr(net.sigma1, "name", str(net.sigma1)),
            "sigma1_degree": degree, "input_law": input_law, "initial_output": initial_output, "n_validation": n_validation,
            "eta1": best["eta1"], "ridge": best["ridge"], "validation_normalised_mse": best["normalised"],
            "chosen_on_grid_edge": on_edge, "eta1_reference": 1 / scale if scale > 0 else None,
            "grid": table, "step": step, "readout": readout, "seconds": time.perf_counter() - t0}
    return net, info
