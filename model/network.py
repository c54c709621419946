"""The three-layer network of equation (1) (docs/paper.md §2) and its initialisation.

    ĝ(x) = uᵀ σ1(V x + s),                V ∈ R^{m1×d}, s, u ∈ R^{m1}
    f(x) = cᵀ σ2(a·ĝ(x) + b) + ĝ(x),      a, b, c ∈ R^{m2},  σ2 = ReLU

σ1 is a polynomial of degree k (``"hermite"``: the orthonormal h_k = He_k/√k!; ``"monomial"``:
z^k, the paper's experiments). With σ1 of degree k the m1 features σ1(v_i·x + s_i) lie in the
C(d+k, k)-dimensional space of polynomials of degree <= k and, for generic (v_i, s_i), span it once
m1 >= C(d+k, k) (docs/paper.md §7): width beyond that adds cost, not power.

Initialisation (:func:`init_three_layer`, docs/paper.md §2): rows of V uniform on the unit sphere
(so v·x ~ N(0, 1) for Gaussian x); s uniform on [-bias_scale, bias_scale]; u = c = 0 (or, with
``output_init="mup"``, N(0, 1/m1²) and N(0, 1/m2²), the μP readout scale); a uniform ±1; b
Student-t with ``b_dof`` degrees of freedom (default 9: heavy-tailed with a finite 8th moment).
Every draw comes from the explicit generator, in the order V, s, a, b, (u, c).
"""
from __future__ import annotations

import math
from typing import Sequence

import torch
from numpy.polynomial import hermite_e
from torch import nn

from .data import ModelInputError, check_generator, check_positive_int

__all__ = [
    "PolynomialActivation",
    "make_sigma1",
    "polynomial_space_dim",
    "theory_widths",
    "experiment_widths",
    "ThreeLayerNet",
    "init_three_layer",
    "student_t",
]


class PolynomialActivation(nn.Module):
    """σ(z) = Σ_j coefficients[j]·z^j (ascending monomial coefficients), evaluated by Horner.

    The coefficients are python floats, so the activation follows its input's device and dtype.
    """

    def __init__(self, coefficients: Sequence[float], *, name: str = "polynomial"):
        super().__init__()
        coeffs = [float(c) for c in coefficients]
        while len(coeffs) > 1 and coeffs[-1] == 0.0:
            coeffs.pop()
        if not coeffs or not all(math.isfinite(c) for c in coeffs):
            raise ModelInputError(f"activation coefficients must be finite and non-empty, got {coefficients!r}")
        self.coefficients = tuple(coeffs)
        self.name = name

    @property
    def degree(self) -> int:
        return len(self.coefficients) - 1

    @classmethod
    def hermite(cls, k: int) -> "PolynomialActivation":
        """The orthonormal Hermite polynomial h_k = He_k/√k! (numpy ``hermite_e`` coefficients)."""
        k = _check_degree(k)
        mono = hermite_e.herme2poly([0.0] * k + [1.0]) / math.sqrt(math.factorial(k))
        return cls(mono.tolist(), name=f"h_{k}")

    @classmethod
    def monomial(cls, k: int) -> "PolynomialActivation":
        """z^k."""
        k = _check_degree(k)
        return cls([0.0] * k + [1.0], name=f"z^{k}")

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        # Horner, skipping the exact no-ops (a leading 1·z, adding a zero coefficient): the values and
        # gradients are those of the plain recursion, with fewer kernels (z^3: 2 instead of 7).
        *lower, top = self.coefficients
        if not lower:
            return torch.full_like(z, top)
        out = z if top == 1.0 else top * z
        for position, c in enumerate(reversed(lower)):
            if c != 0.0:
                out = out + c
            if position < len(lower) - 1:
                out = out * z
        return out

    def extra_repr(self) -> str:
        return f"{self.name}, degree={self.degree}"


def _check_degree(k: int) -> int:
    return check_positive_int("the degree k of σ1", k)


def make_sigma1(kind: "str | PolynomialActivation", degree: int) -> PolynomialActivation:
    """σ1 from a name (``"hermite"`` -> h_degree, ``"monomial"`` -> z^degree) or an activation."""
    if isinstance(kind, PolynomialActivation):
        if kind.degree != degree:
            raise ModelInputError(f"σ1 {kind.name} has degree {kind.degree}, expected {degree}")
        return kind
    if kind == "hermite":
        return PolynomialActivation.hermite(degree)
    if kind == "monomial":
        return PolynomialActivation.monomial(degree)
    raise ModelInputError(f"unknown σ1 {kind!r}: choose 'hermite', 'monomial' or a PolynomialActivation")


def polynomial_space_dim(d: int, k: int) -> int:
    """C(d+k, k): the number of polynomials of degree <= k in d variables (a basis)."""
    return math.comb(check_positive_int("d", d) + _check_degree(k), k)


def theory_widths(d: int, k: int, alpha: float) -> tuple[int, int]:
    """Theorem 1's widths (m1, m2) = (⌈d^{k+α}⌉, ⌈d^α⌉) for α in (0, 1)."""
    if not 0 < alpha < 1:
        raise ModelInputError(f"Theorem 1 takes α in (0, 1), got {alpha!r}")
    d, k = check_positive_int("d", d), _check_degree(k)
    return math.ceil(d ** (k + alpha) - 1e-9), math.ceil(d ** alpha - 1e-9)


def experiment_widths(d: int) -> tuple[int, int]:
    """Section 5's widths (m1, m2) = (d², 1000)."""
    d = check_positive_int("d", d)
    return d * d, 1000


class ThreeLayerNet(nn.Module):
    """Network (1): ``feature(x)`` is ĝ, ``forward(x)`` is f. Parameters V, s, u, a, b, c."""

    def __init__(self, *, V: torch.Tensor, s: torch.Tensor, u: torch.Tensor, a: torch.Tensor,
                 b: torch.Tensor, c: torch.Tensor, sigma1: PolynomialActivation):
        super().__init__()
        if V.ndim != 2:
            raise ModelInputError(f"V must be (m1, d), got shape {tuple(V.shape)}")
        m1 = V.shape[0]
        m2 = a.shape[0] if a.ndim == 1 else -1
        for name, t, m, width in (("s", s, m1, "m1"), ("u", u, m1, "m1"), ("a", a, m2, "m2"),
                                  ("b", b, m2, "m2"), ("c", c, m2, "m2")):
            if t.ndim != 1 or t.shape[0] != m or m < 1:
                raise ModelInputError(f"{name} must be a vector of length {width}={m}, got shape {tuple(t.shape)}")
        tensors = (V, s, u, a, b, c)
        if len({(t.device, t.dtype) for t in tensors}) != 1:
            raise ModelInputError("all parameters of the network must share one device and dtype")
        if not isinstance(sigma1, PolynomialActivation):
            raise TypeError("sigma1 must be a PolynomialActivation (see make_sigma1)")
        self.V, self.s, self.u = nn.Parameter(V), nn.Parameter(s), nn.Parameter(u)
        self.a, self.b, self.c = nn.Parameter(a), nn.Parameter(b), nn.Parameter(c)
        self.sigma1 = sigma1

    @property
    def d(self) -> int:
        return int(self.V.shape[1])

    @property
    def m1(self) -> int:
        return int(self.V.shape[0])

    @property
    def m2(self) -> int:
        return int(self.a.shape[0])

    @property
    def k(self) -> int:
        return self.sigma1.degree

    def _check_x(self, x: torch.Tensor) -> None:
        if x.ndim != 2 or x.shape[1] != self.d:
            raise ModelInputError(f"inputs must be (n, d={self.d}), got shape {tuple(x.shape)}")

    def first_layer(self, x: torch.Tensor) -> torch.Tensor:
        """The stage-1 random features σ1(V x + s), shape (n, m1)."""
        self._check_x(x)
        return self.sigma1(torch.addmm(self.s, x, self.V.T))

    def feature(self, x: torch.Tensor) -> torch.Tensor:
        """The learned feature ĝ(x) = uᵀσ1(V x + s), shape (n,)."""
        return self.first_layer(x) @ self.u

    def link_features(self, g_values: torch.Tensor) -> torch.Tensor:
        """The stage-2 random features σ2(a·ĝ + b) of the feature values, shape (n, m2)."""
        if g_values.ndim != 1:
            raise ModelInputError(f"feature values must be a vector (n,), got shape {tuple(g_values.shape)}")
        return torch.relu(torch.outer(g_values, self.a) + self.b)

    def forward_from_feature(self, g_values: torch.Tensor) -> torch.Tensor:
        """f given ĝ: cᵀσ2(a·ĝ + b) + ĝ."""
        return self.link_features(g_values) @ self.c + g_values

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_from_feature(self.feature(x))

    def extra_repr(self) -> str:
        return f"d={self.d}, m1={self.m1}, m2={self.m2}"


def student_t(shape: tuple[int, ...], dof: int, *, generator: torch.Generator, dtype=torch.float64) -> torch.Tensor:
    """Student-t draws Z/√(χ²_dof/dof) built from normals of the generator (integer dof >= 1);
    moments of order < dof are finite (dof = 9: a bounded 8th moment)."""
    dof = check_positive_int("dof", dof)
    gen = check_generator(generator)
    z = torch.randn(*shape, generator=gen, device=gen.device, dtype=dtype)
    chi2 = torch.randn(*shape, dof, generator=gen, device=gen.device, dtype=dtype).square().sum(-1)
    return z / torch.sqrt(chi2 / dof)


def init_three_layer(d: int, m1: int, m2: int, *, generator: torch.Generator, k: int,
                     sigma1: "str | PolynomialActivation" = "hermite", bias_scale: float = 1.0,
                     b_dof: int = 9, output_init: str = "zero",
                     device: torch.device | str | None = None, dtype: torch.dtype = torch.float64) -> ThreeLayerNet:
    """Network (1) at the initialisation of docs/paper.md §2 (see the module docstring).

    ``k`` is the degree of σ1 (pass k-1 for the activation-degree probe). Draws happen on the
    generator's device in float64 and are moved to ``device``/``dtype``, so a seed gives the same
    network in any dtype.
    """
    d, m1, m2 = check_positive_int("d", d), check_positive_int("m1", m1), check_positive_int("m2", m2)
    act = make_sigma1(sigma1, _check_degree(k))
    gen = check_generator(generator)
    if not (bias_scale >= 0 and math.isfinite(bias_scale)):
        raise ModelInputError(f"bias_scale must be finite and >= 0, got {bias_scale!r}")
    where, f64 = gen.device, torch.float64
    V = torch.randn(m1, d, generator=gen, device=where, dtype=f64)
    V = V / V.norm(dim=1, keepdim=True)
    s = (torch.rand(m1, generator=gen, device=where, dtype=f64) * 2 - 1) * bias_scale
    a = torch.randint(0, 2, (m2,), generator=gen, device=where).to(f64) * 2 - 1
    b = student_t((m2,), b_dof, generator=gen)
    if output_init == "zero":
        u, c = torch.zeros(m1, dtype=f64, device=where), torch.zeros(m2, dtype=f64, device=where)
    elif output_init == "mup":
        u = torch.randn(m1, generator=gen, device=where, dtype=f64) / m1
        c = torch.randn(m2, generator=gen, device=where, dtype=f64) / m2
    else:
        raise ModelInputError(f"unknown output_init {output_init!r}: choose 'zero' or 'mup'")
    target = dict(device=device if device is not None else where, dtype=dtype)
    return ThreeLayerNet(V=V.to(**target), s=s.to(**target), u=u.to(**target), a=a.to(**target),
                         b=b.to(**target), c=c.to(**target), sigma1=act)
