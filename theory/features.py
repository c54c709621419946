"""The paper's function class as objects: features p, links g, targets h = g∘p (docs/paper.md §1, §5, §6).

Features (each knows ``d``, ``k``, ``L``; evaluates exactly as a sympy expression and numerically on
numpy arrays or torch tensors of shape (n, d); reports the assumptions it violates by name):

- :class:`BlockFeature`: p = L^{-1/2} Σ_i λ_i ψ(U_i x) / sqrt(E ψ²) with one block polynomial ψ
  (a :class:`theory.structured.BlockType`) on L blocks of local coordinates. Constructors:
  :meth:`BlockFeature.decomposable` (ψ = h_k on orthonormal directions v_i),
  :meth:`BlockFeature.products` (ψ = Π_{j in S_i} x_j on disjoint coordinate blocks),
  :meth:`BlockFeature.coordinate` (any ψ on consecutive coordinate blocks; ψ with lower-degree
  parts is the "p not homogeneous" breaker).
- :class:`QuadraticFeature`: p = xᵀAx − tr A (k = 2), the third family; exact power sums are the
  traces tr A^r, so no exact eigendecomposition is needed.
- :class:`PolynomialFeature`: any polynomial p (general coefficient tensors p = <A, He_k(x)>, the
  Section 6 conjecture); exact side by the naive expansion, small d only.

Links: :class:`Link` (a polynomial g in z with exact E g, E g', q). Targets:
:class:`HierarchicalTarget` (h = g∘p; exact ||P_j h||², the Lemma 2 gaps, corr(P_{<=k} h, p),
numeric P_{<=j} h), :class:`MultiFeatureTarget` (h = g(p_1, ..., p_R), naive exact side), and
:class:`RepeatedBlockFamily` (λ repeating a motif; quantities in closed form with L a symbol).

Exact paths: block and quadratic features use the structured engine (``theory.structured``),
exact at any L; the others expand g∘p (``theory.compose``), whose cost grows as C(d + kq, kq).
"""
from __future__ import annotations

from collections import Counter
from fractions import Fraction
from functools import cached_property
from math import lcm
from typing import Callable, Sequence

import numpy as np
import sympy

from .validation import nonnegative_integer, positive_integer
from .assumptions import (
    BALANCED,
    CENTRED_LINK,
    HOMOGENEOUS,
    INFO_EXP_1,
    MANY_COMPONENTS,
    NORMALISED,
    ORTHOGONAL,
)

from .expansion import HermiteExpansion, compose, expand
from .hermite import Z, link_derivative_mean, link_mean, link_poly, link_second_moment
from .structured import (
    BlockType,
    LinkQuantities,
    PowerSumPolynomial,
    link_quantities,
    moment,
    project_numeric,
    projection_tables,
)

__all__ = [
    "BALANCE_LOW",
    "BALANCE_HIGH",
    "MIN_COMPONENTS_PER_DIMENSION",
    "SINGLE_FEATURE",
    "FeatureError",
    "DegreeMismatchError",
    "ShapeError",
    "DimensionError",
    "NotStructuredError",
    "NonFiniteSampleError",
    "InexactNumberError",
    "Weights",
    "Feature",
    "BlockFeature",
    "QuadraticFeature",
    "PolynomialFeature",
    "Link",
    "HierarchicalTarget",
    "MultiFeatureTarget",
    "RepeatedBlockFamily",
    "section5_target",
    "feature_from_spec",
]

#: Balance bounds c <= |λ_i| <= C. The pair (1/5, 7/5) lies on λ_a² + λ_b² = 2, so balanced
#: rational λ with Σ λ² = L exactly can sit at both bounds (see checks.strategies).
BALANCE_LOW = Fraction(1, 5)
BALANCE_HIGH = Fraction(7, 5)
#: "L = Θ(d)" made concrete: L >= d / (2k) (the §5 feature has L = d; products fill d = kL).
MIN_COMPONENTS_PER_DIMENSION = Fraction(1, 2)
# Elements of the Hermite table one block-feature evaluation builds at a time (float64: 32 MB).
EVALUATION_CHUNK_ELEMENTS = 1 << 22
#: Assumption broken by targets with several features (not in the paper's class).
SINGLE_FEATURE = "single-feature"


class FeatureError(ValueError):
    """A feature, link or target was given malformed input."""


class DegreeMismatchError(FeatureError):
    """The declared degree k does not match the polynomial's degree."""


class ShapeError(FeatureError):
    """An array has the wrong shape (directions, blocks, weights, samples)."""


class DimensionError(FeatureError):
    """d is too small for the blocks (a coordinate out of range, too many directions)."""


class NonFiniteSampleError(FeatureError):
    """A sample given to ``evaluate`` contains NaN or inf."""


class NotStructuredError(FeatureError):
    """The exact quantity needs the structured engine, but the feature is not in block form (or
    its blocks are not orthogonal), and d is too large for the naive expansion."""


# --- numbers ---------------------------------------------------------------------------------

class InexactNumberError(FeatureError):
    """A float where the exact mathematics needs an exact number (λ, a link coefficient, A)."""


def _rational(c, what: str) -> Fraction:
    """An exact rational from int, Fraction or sympy Rational.

    Floats are refused, as they are for a link's coefficients (theory.hermite.link_poly): one rule
    for every exact input, because 0.1 is the binary fraction 3602879701896397/2^55, not 1/10, and
    accepting it silently puts that number into every exact result. (Float *directions* stay
    allowed: they are documented as the numeric-only path.)"""
    if isinstance(c, bool):
        raise TypeError(f"{what}: {c!r} is a bool")
    if isinstance(c, (int, np.integer)):
        return Fraction(int(c))
    if isinstance(c, Fraction):
        return c
    if isinstance(c, (float, np.floating)):
        raise InexactNumberError(f"{what} = {c!r} is a float: give an exact number (an int, "
                                 f"fractions.Fraction or a sympy Rational, e.g. Fraction('{c!r}')), "
                                 f"as for a link's coefficients")
    c = sympy.sympify(c)
    if c.is_Rational:
        return Fraction(int(c.p), int(c.q))
    raise FeatureError(f"{what}: {c} is not rational")


def _sym(c: Fraction) -> sympy.Rational:
    return sympy.Rational(c.numerator, c.denominator)


def _is_torch(x) -> bool:
    return type(x).__module__.startswith("torch")


def _check_samples(x, d: int):
    if not (_is_torch(x) or isinstance(x, np.ndarray)):
        raise TypeError(f"samples must be a numpy array or a torch tensor, got {type(x).__name__}")
    if x.ndim != 2 or x.shape[1] != d:
        raise ShapeError(f"samples must have shape (n, {d}), got {tuple(x.shape)}")
    if _is_torch(x):
        import torch

        if x.dtype != torch.float64:
            raise TypeError(f"samples must be float64 (theory code is float64), got {x.dtype}")
        # a finite sum proves every entry finite (NaN and inf propagate); only a non-finite sum, which a
        # huge finite sample can also give by overflow, pays for the entrywise test
        finite = bool(torch.isfinite(x.sum())) or bool(torch.isfinite(x).all())
    elif x.dtype != np.float64:
        raise TypeError(f"samples must be float64 (theory code is float64), got {x.dtype}")
    else:
        with np.errstate(over="ignore", invalid="ignore"):  # an overflowing sum is handled, not warned
            finite = bool(np.isfinite(x.sum())) or bool(np.isfinite(x).all())
    if not finite:
        # A NaN sample would come back as a NaN value and spread silently into every average.
        raise NonFiniteSampleError("samples contain NaN or inf: x must be finite")
    return x


def _like(array: np.ndarray, x):
    """``array`` (numpy) in the library, dtype and device of ``x``."""
    if _is_torch(x):
        import torch

        return torch.as_tensor(array, dtype=x.dtype if array.dtype.kind == "f" else None, device=x.device)
    return array


class Weights:
    """Exact component weights λ_1..λ_L, stored as ``scale · n_i / D`` with integers n_i, one
    common denominator D and one exact positive sympy ``scale`` (1 unless normalised).

    Power sums Σ λ_i^r are exact and cost one pass over the distinct n_i (O(1) when they repeat).
    """

    __slots__ = ("numerators", "denominator", "scale", "_counts")

    def __init__(self, values: Sequence, *, scale=1):
        # λ counted from 1, as in the paper (λ_1..λ_L) and this class's docstring.
        fracs = [_rational(v, f"λ_{i + 1}") for i, v in enumerate(values)]
        if not fracs:
            raise ShapeError("a feature needs at least one component (L >= 1)")
        D = lcm(*(f.denominator for f in fracs))
        nums = [f.numerator * (D // f.denominator) for f in fracs]
        self._set(nums, D, scale)

    def _set(self, nums, D: int, scale) -> None:
        big = max(abs(v) for v in nums) >= 2**62
        self.numerators = np.array(nums, dtype=object if big else np.int64)
        self.denominator = int(D)
        self.scale = sympy.sympify(scale)
        if not (self.scale.is_positive and self.scale.is_real):
            raise FeatureError(f"weights scale {self.scale} must be a positive real number")
        self._counts = None

    @classmethod
    def constant(cls, value, L: int) -> "Weights":
        """λ_i = value for i = 1..L, without building L python numbers."""
        L = positive_integer("L", L, error=ShapeError)
        f = _rational(value, "λ")
        w = cls.__new__(cls)
        w._set([0], f.denominator, 1)
        w.numerators = np.full(int(L), f.numerator, dtype=np.int64)
        return w

    @classmethod
    def from_signs(cls, signs: np.ndarray) -> "Weights":
        """λ_i = ±1 from an integer array of signs."""
        signs = np.asarray(signs)
        if signs.ndim != 1 or not np.isin(signs, (-1, 1)).all():
            raise FeatureError("signs must be a 1-D array of ±1")
        w = cls.__new__(cls)
        w._set([0], 1, 1)
        w.numerators = signs.astype(np.int64)
        return w

    def __len__(self) -> int:
        return int(self.numerators.shape[0])

    def __eq__(self, other) -> bool:
        return (isinstance(other, Weights) and len(self) == len(other)
                and all(a == b for a, b in zip(self.values, other.values)))

    @property
    def counts(self) -> Counter:
        if self._counts is None:
            self._counts = Counter(int(v) for v in self.numerators.tolist())
        return self._counts

    @property
    def values(self) -> tuple[sympy.Expr, ...]:
        """The exact λ_i (sympy numbers)."""
        return tuple(self.scale * sympy.Rational(int(n), self.denominator) for n in self.numerators)

    def floats(self) -> np.ndarray:
        return self.numerators.astype(np.float64) * (float(self.scale) / self.denominator)

    def power_sum(self, r: int) -> sympy.Expr:
        """Σ_i λ_i^r, exact."""
        total = sum(count * value**r for value, count in self.counts.items())
        return self.scale**r * sympy.Rational(total, self.denominator**r)

    def sum_squares(self) -> sympy.Expr:
        return self.power_sum(2)

    def is_balanced(self, low=BALANCE_LOW, high=BALANCE_HIGH) -> bool:
        """Exactly: low <= |λ_i| <= high for every i of the *normalised* weights (Σ λ² = L), so
        the answer does not depend on the scale of λ ([3]*10 is balanced); all-zero λ is not.
        λ_i² L / Σ λ_j² = n_i² L / Σ n_j² is rational, so no square root is taken."""
        total = sum(count * v * v for v, count in self.counts.items())
        if total == 0:
            return False
        lo, hi = Fraction(low) ** 2, Fraction(high) ** 2
        return all(lo <= Fraction(v * v * len(self), total) <= hi for v in self.counts)

    def effective_number(self) -> sympy.Expr:
        """L_eff = (Σ λ²)² / Σ λ⁴ (= L for equal |λ_i|)."""
        return sympy.radsimp(self.power_sum(2) ** 2 / self.power_sum(4))

    def normalised(self) -> "Weights":
        """The same direction, rescaled so that Σ λ² = L exactly (the scale may become irrational)."""
        total = self.sum_squares()
        if total == 0:
            raise FeatureError("all weights are zero: p = 0 cannot be normalised")
        w = Weights.__new__(Weights)
        w._set([0], self.denominator, sympy.sqrt(sympy.Integer(len(self)) / total) * self.scale)
        w.numerators = self.numerators.copy()
        return w

    def __repr__(self) -> str:
        head = ", ".join(str(v) for v in self.values[:4])
        return f"Weights(L={len(self)}, [{head}{', ...' if len(self) > 4 else ''}])"


def _exact_text(value) -> str:
    """An exact number as text that sympy reads back (a float is read as the rational it prints as)."""
    value = sympy.nsimplify(value) if isinstance(value, float) else sympy.sympify(value)
    return str(value)


def _weights_from_texts(texts: Sequence[str]) -> Weights:
    values = [sympy.sympify(v) for v in texts]
    if all(v in (1, -1) for v in values):
        return Weights.from_signs(np.array([int(v) for v in values]))
    return Weights(values)


def _as_weights(lam, L_expected: int | None = None) -> Weights:
    w = lam if isinstance(lam, Weights) else Weights(list(lam))
    if L_expected is not None and len(w) != L_expected:
        raise ShapeError(f"{len(w)} weights λ for {L_expected} components")
    return w


# --- features ---------------------------------------------------------------------------------

class Feature:
    """Common interface. Subclasses set ``d``, ``k``, ``L`` and implement the methods below."""

    d: int
    k: int
    L: int
    is_structured: bool = False

    @cached_property
    def variables(self) -> tuple[sympy.Symbol, ...]:
        return sympy.symbols(f"x0:{self.d}")

    def evaluate(self, x):
        """p at the rows of x ((n, d), float64, numpy or torch) -> (n,), same library."""
        raise NotImplementedError

    def expression(self) -> sympy.Expr:
        """p as an exact sympy expression in ``variables``."""
        raise NotImplementedError

    def expansion(self) -> HermiteExpansion:
        """The exact Hermite expansion of p (naive; small d)."""
        return expand(self.expression(), self.variables)

    def violations(self) -> list[str]:
        raise NotImplementedError

    def to_spec(self) -> dict:
        """Plain JSON-able data that :func:`feature_from_spec` turns back into an equal feature
        (exact numbers as text). Supported by coordinate-block and quadratic features."""
        raise FeatureError(f"{type(self).__name__} has no plain-data spec (coordinate-block and quadratic "
                           "features have one)")

    # structured features override these
    def block_types(self) -> tuple[BlockType, ...]:
        raise NotStructuredError(f"{type(self).__name__} has no block structure")

    def power_sum(self, key: tuple[int, int]) -> sympy.Expr:
        raise NotStructuredError(f"{type(self).__name__} has no block structure")

    def moment(self, r: int) -> sympy.Expr:
        """E[p^r], exact."""
        if self.is_structured:
            return moment(self.block_types(), r).evaluate(self.power_sum)
        return _naive_moment(self, r)

    def norm2(self) -> sympy.Expr:
        return self.moment(2)

    def mean(self) -> sympy.Expr:
        return self.moment(1)


def _naive_moment(feature: Feature, r: int) -> sympy.Expr:
    """E p^r by expansion; for even r as ||p^{r/2}||² (half the degree, far fewer terms)."""
    if r % 2 == 0:
        return compose(Z ** (r // 2), Z, feature.expansion(), feature.variables).norm2()
    return compose(Z**r, Z, feature.expansion(), feature.variables).mean()


class BlockFeature(Feature):
    """p = Σ_i a_i ψ(y_i), a_i = λ_i / sqrt(L·E ψ²), y_i the local coordinates of block i.

    Blocks are given either by ``coordinates`` (an int array (L, m): block i reads x[coords[i]])
    or by ``directions`` (an array (L, m, d) whose rows give y_i = U_i x; exact rationals, or
    floats for numeric use only). Use the classmethod constructors.
    """

    def __init__(self, psi: BlockType, lam, *, d: int, coordinates=None, directions=None,
                 k: int | None = None):
        if not isinstance(psi, BlockType):
            raise TypeError(f"psi must be a theory.structured.BlockType, got {type(psi).__name__}")
        self.psi = psi
        self.k = psi.degree if k is None else positive_integer("k", k, error=FeatureError)
        if psi.degree != self.k:
            raise DegreeMismatchError(f"the block polynomial {psi.name} has degree {psi.degree}, not k = {self.k}")
        self.d = positive_integer("d", d, error=FeatureError)
        m = psi.local_dim
        if (coordinates is None) == (directions is None):
            raise FeatureError("give exactly one of coordinates= or directions=")
        self.coordinates = self.directions = None
        self._exact_directions = None
        if coordinates is not None:
            coords = np.asarray(coordinates)
            if coords.ndim == 1 and m == 1:
                coords = coords[:, None]
            if coords.ndim != 2 or coords.shape[1] != m or not np.issubdtype(coords.dtype, np.integer):
                raise ShapeError(f"coordinates must be an int array of shape (L, {m}), got {coords.shape} {coords.dtype}")
            if coords.size and (coords.min() < 0 or coords.max() >= self.d):
                raise DimensionError(f"coordinates reach {coords.max()}, but d = {self.d}: d is too small for the blocks")
            for row in coords:
                if len(set(row.tolist())) != m:
                    raise FeatureError(f"block {row.tolist()} repeats a coordinate: ψ's local coordinates must be distinct")
            self.coordinates = coords.astype(np.int64)
            L = coords.shape[0]
        else:
            U = np.asarray(directions, dtype=object)
            if U.ndim == 2 and m == 1:
                U = U[:, None, :]
            if U.ndim != 3 or U.shape[1] != m:
                raise ShapeError(f"directions must have shape (L, {m}, d), got {U.shape}")
            if U.shape[2] != self.d:
                raise ShapeError(f"directions have {U.shape[2]} columns, but d = {self.d}")
            if U.shape[0] * m > self.d:
                raise DimensionError(f"{U.shape[0]} blocks of dimension {m} need d >= {U.shape[0] * m}, got d = {self.d}")
            self.directions = np.array(U.tolist(), dtype=np.float64)
            try:
                self._exact_directions = np.vectorize(lambda v: _rational(v, "direction"), otypes=[object])(U)
                if any(isinstance(v, (float, np.floating)) for v in U.ravel()):
                    self._exact_directions = None  # floats: numeric only
            except FeatureError:
                self._exact_directions = None
            L = U.shape[0]
        self.L = L
        self.weights = _as_weights(lam, L)

    # constructors for the paper's families
    @classmethod
    def decomposable(cls, directions, lam, k: int) -> "BlockFeature":
        """p = L^{-1/2} Σ λ_i h_k(<v_i, x>), v_i the rows of ``directions`` (L, d)."""
        V = np.asarray(directions, dtype=object)
        if V.ndim != 2:
            raise ShapeError(f"directions must be a matrix (L, d), got shape {V.shape}")
        return cls(BlockType.hermite(positive_integer("k", k, error=FeatureError)), lam, d=V.shape[1], directions=V[:, None, :])

    @classmethod
    def decomposable_on_coordinates(cls, lam, k: int, *, d: int | None = None) -> "BlockFeature":
        """p = L^{-1/2} Σ λ_i h_k(x_i) (v_i = e_i; the §5 feature)."""
        w = _as_weights(lam)
        d = len(w) if d is None else d
        return cls(BlockType.hermite(positive_integer("k", k, error=FeatureError)), w, d=d, coordinates=np.arange(len(w))[:, None])

    @classmethod
    def products(cls, blocks, lam, *, d: int) -> "BlockFeature":
        """p = L^{-1/2} Σ λ_i Π_{j in S_i} x_j, S_i the rows of ``blocks`` (L, k)."""
        S = np.asarray(blocks)
        if S.ndim != 2:
            raise ShapeError(f"blocks must be an int array (L, k), got shape {S.shape}")
        return cls(BlockType.product(int(S.shape[1])), lam, d=d, coordinates=S)

    @classmethod
    def coordinate(cls, psi: BlockType, lam, *, d: int | None = None, k: int | None = None) -> "BlockFeature":
        """ψ on consecutive coordinate blocks [0, m), [m, 2m), ... (any ψ, e.g. non-homogeneous)."""
        w = _as_weights(lam)
        m = psi.local_dim
        d = len(w) * m if d is None else d
        return cls(psi, w, d=d, coordinates=np.arange(len(w) * m).reshape(len(w), m), k=k)

    def to_spec(self) -> dict:
        """{"family": "blocks", d, k, psi (He-terms [[multi-index, "coefficient"], ...]), psi_name,
        coordinates, lam (exact texts)}; blocks given by directions have no spec."""
        if self.coordinates is None:
            raise FeatureError("a block feature given by directions has no plain-data spec (use coordinates)")
        return {"family": "blocks", "d": self.d, "k": self.k,
                "psi": [[list(b), str(c)] for b, c in self.psi.terms], "psi_name": self.psi.name,
                "coordinates": self.coordinates.tolist(), "lam": [_exact_text(v) for v in self.weights.values]}

    # structure
    def block_types(self) -> tuple[BlockType, ...]:
        return (self.psi,)

    def power_sum(self, key: tuple[int, int]) -> sympy.Expr:
        """P_{0,r} = Σ_i a_i^r, a_i = λ_i / sqrt(L·E ψ²), exactly."""
        tau, r = key
        if tau != 0:
            return sympy.Integer(0)
        N = _sym(self.psi.norm2)
        return self.weights.power_sum(r) * (sympy.Integer(self.L) * N) ** sympy.Rational(-r, 2)

    @cached_property
    def scales(self) -> np.ndarray:
        """Float a_i."""
        return self.weights.floats() / np.sqrt(self.L * float(self.psi.norm2))

    def orthogonality_defect(self) -> float:
        """max |U Uᵀ - I| over all block rows (0 for coordinate blocks that are disjoint)."""
        if self.coordinates is not None:
            flat = self.coordinates.ravel()
            return 0.0 if len(set(flat.tolist())) == flat.size else 1.0
        if self._exact_directions is not None:
            U = self._exact_directions.reshape(-1, self.d)
            G = U.dot(U.T)
            return float(max(abs(G[i, j] - (1 if i == j else 0)) for i in range(G.shape[0]) for j in range(G.shape[1])))
        U = self.directions.reshape(-1, self.d)
        return float(np.max(np.abs(U @ U.T - np.eye(U.shape[0]))))

    @cached_property
    def orthogonal(self) -> bool:
        """Blocks on mutually orthogonal subspaces, with orthonormal local coordinates (exactly
        for coordinates and rational directions; within 64·d·eps for float directions)."""
        tol = 0.0 if (self.coordinates is not None or self._exact_directions is not None) else 64 * self.d * np.finfo(float).eps
        return self.orthogonality_defect() <= tol

    def local_coordinates(self, x):
        """y of shape (n, L, m), same library as x."""
        if self.coordinates is not None:
            idx = _like(self.coordinates, x)
            return x[:, idx]
        U = _like(self.directions, x)
        if _is_torch(x):
            import torch

            return torch.einsum("nd,lmd->nlm", x, U)
        return np.einsum("nd,lmd->nlm", x, U)

    def evaluate(self, x):
        x = _check_samples(x, self.d)
        # Row chunks keep the Hermite table (rows × L × m × (deg+1)) near EVALUATION_CHUNK_ELEMENTS: one
        # table of all rows at d = 8192 is gigabytes and its allocation, not its arithmetic, dominates.
        # Rows are independent: chunks agree with one pass to rounding (the blocks' dot product).
        rows = max(1, EVALUATION_CHUNK_ELEMENTS // (self.L * self.psi.local_dim * (self.psi.degree + 1)))
        if x.shape[0] <= rows:
            return self._evaluate_rows(x)
        parts = [self._evaluate_rows(x[i:i + rows]) for i in range(0, x.shape[0], rows)]
        if _is_torch(x):
            import torch

            return torch.cat(parts)
        return np.concatenate(parts)

    def _evaluate_rows(self, x):
        from .numeric import he_table

        y = self.local_coordinates(x)
        H = he_table(self.psi.degree, y)  # (n, L, m, k+1)
        values = None
        for b, c in self.psi.terms:
            term = H[:, :, 0, b[0]]
            for l in range(1, len(b)):
                term = term * H[:, :, l, b[l]]
            values = float(c) * term if values is None else values + float(c) * term
        return values @ _like(self.scales, x)

    def expression(self) -> sympy.Expr:
        if self.coordinates is None and self._exact_directions is None:
            raise NotStructuredError("float directions have no exact expression; give rational directions")
        psi_expr = self.psi.expansion().to_expr()
        ys = sympy.symbols(f"y0:{self.psi.local_dim}")
        xs = self.variables
        N = _sym(self.psi.norm2)
        total = sympy.Integer(0)
        for i, lam in enumerate(self.weights.values):
            if self.coordinates is not None:
                local = [xs[j] for j in self.coordinates[i]]
            else:
                local = [sum(_sym(u) * xv for u, xv in zip(row, xs)) for row in self._exact_directions[i]]
            total += lam * psi_expr.subs(dict(zip(ys, local)), simultaneous=True)
        return sympy.expand(total / sympy.sqrt(sympy.Integer(self.L) * N))

    def violations(self) -> list[str]:
        out = []
        if not self.orthogonal:
            out.append(ORTHOGONAL)
        if not self.weights.is_balanced():
            out.append(BALANCED)
        if self.L < MIN_COMPONENTS_PER_DIMENSION * self.d / self.k:
            out.append(MANY_COMPONENTS)
        if not self.psi.is_homogeneous:
            out.append(HOMOGENEOUS)
        if not self._is_normalised():
            out.append(NORMALISED)
        return out

    def _is_normalised(self) -> bool:
        """E p² = 1 exactly: Σ λ² = L on orthogonal blocks; otherwise the exact second moment,
        since overlapping blocks add cross terms (blocks [[0, 1], [0, 1]] with λ = (1, 1) have
        Σ λ² = L but E p² = 2). Float directions have no exact moment: Σ λ² = L is used."""
        if self.orthogonal:
            return self.weights.sum_squares() == self.L
        try:
            return _simplify(self.moment(2)) == 1
        except NotStructuredError:
            return self.weights.sum_squares() == self.L

    @property
    def is_structured(self) -> bool:  # type: ignore[override]
        return self.orthogonal

    def __repr__(self) -> str:
        return f"BlockFeature({self.psi.name}, d={self.d}, k={self.k}, L={self.L})"


class QuadraticFeature(Feature):
    """p = xᵀAx − tr A for a symmetric d×d matrix A = scale·B (k = 2), B rational, ``scale`` an
    exact positive number (1 by default); ||A||_F = 1/sqrt(2) makes E p² = 1.

    Diagonalising A = Σ μ_i v_i v_iᵀ gives p = Σ μ_i He_2(<v_i, x>): the decomposable family with
    ψ = He_2 and scales a_i = μ_i. Exact power sums are traces, P_r = tr A^r = scale^r tr B^r, so no
    exact eigendecomposition is needed. L = rank A and λ_i = μ_i sqrt(2L) come from float64
    eigenvalues (used only by ``violations`` and the numeric projection; tolerances in
    :meth:`eigenvalues`).
    """

    is_structured = True
    k = 2

    def __init__(self, A, *, scale=1):
        M = np.asarray(A, dtype=object)
        if M.ndim != 2 or M.shape[0] != M.shape[1]:
            raise ShapeError(f"A must be a square matrix, got shape {M.shape}")
        self.d = int(M.shape[0])
        exact = np.vectorize(lambda v: _rational(v, "A entry"), otypes=[object])(M)
        if any(exact[i, j] != exact[j, i] for i in range(self.d) for j in range(i)):
            raise FeatureError("A must be symmetric (xᵀAx only sees the symmetric part; pass (A + Aᵀ)/2)")
        self.scale = sympy.sympify(scale)
        if not self.scale.is_positive:
            raise FeatureError(f"scale {self.scale} must be a positive number")
        D = lcm(*(v.denominator for v in exact.ravel()))
        self._int_matrix = np.vectorize(lambda v: int(v * D), otypes=[object])(exact)
        self._denominator = D
        self.A = exact.astype(np.float64) * float(self.scale)
        self._traces: dict[int, sympy.Expr] = {}
        self.psi = BlockType.hermite(2)

    @classmethod
    def from_spectrum(cls, lam, basis) -> "QuadraticFeature":
        """A = Σ_i λ_i v_i v_iᵀ / sqrt(2L), v_i the first L rows of the exactly orthogonal ``basis``
        (d×d rational): the paper's normalisation p = L^{-1/2} Σ λ_i h_2(<v_i, x>)."""
        w = _as_weights(lam)
        Q = np.vectorize(lambda v: _rational(v, "basis entry"), otypes=[object])(np.asarray(basis, dtype=object))
        if Q.ndim != 2 or Q.shape[0] != Q.shape[1]:
            raise ShapeError(f"basis must be a square matrix, got shape {Q.shape}")
        L, d = len(w), Q.shape[0]
        if L > d:
            raise DimensionError(f"{L} eigen-directions need d >= {L}, got d = {d}")
        G = Q.dot(Q.T)
        if any(G[i, j] != (1 if i == j else 0) for i in range(d) for j in range(d)):
            raise FeatureError("basis is not exactly orthogonal (Q Qᵀ != I)")
        ratio = [Fraction(int(n), w.denominator) for n in w.numerators]
        B = sum((ratio[i] * np.outer(Q[i], Q[i]) for i in range(L)), np.zeros((d, d), dtype=object) + Fraction(0))
        return cls(B, scale=w.scale / sympy.sqrt(2 * sympy.Integer(L)))

    def to_spec(self) -> dict:
        """{"family": "quadratic", d, k = 2, A (the rational matrix B as texts), scale (exact text,
        only when it is not 1)}."""
        spec = {"family": "quadratic", "d": self.d, "k": 2,
                "A": [[str(Fraction(int(v), self._denominator)) for v in row] for row in self._int_matrix.tolist()]}
        if self.scale != 1:
            spec["scale"] = str(self.scale)
        return spec

    def trace_power(self, r: int) -> sympy.Expr:
        """tr A^r, exact (integer matrix powers)."""
        if r not in self._traces:
            if r == 0:
                self._traces[0] = sympy.Integer(self.d)
            else:
                P = self._int_matrix
                for _ in range(r - 1):
                    P = P.dot(self._int_matrix)
                self._traces[r] = self.scale**r * sympy.Rational(int(np.trace(P)), self._denominator ** r)
        return self._traces[r]

    @cached_property
    def _eigh(self):
        return np.linalg.eigh(self.A)

    def eigenvalues(self) -> np.ndarray:
        """The nonzero eigenvalues μ_i (float64; |μ| <= 64·d·eps·||A||_2 counts as zero)."""
        mu = self._eigh[0]
        tol = 64 * self.d * np.finfo(float).eps * max(1.0, float(np.max(np.abs(mu))) if mu.size else 1.0)
        return mu[np.abs(mu) > tol]

    @property
    def L(self) -> int:  # type: ignore[override]
        return int(self.eigenvalues().size)

    def block_types(self) -> tuple[BlockType, ...]:
        return (self.psi,)

    def power_sum(self, key: tuple[int, int]) -> sympy.Expr:
        tau, r = key
        return self.trace_power(r) if tau == 0 else sympy.Integer(0)

    @cached_property
    def _blocks(self):
        mu, V = self._eigh
        keep = np.abs(mu) > 0
        return mu[keep], V[:, keep].T  # scales a_i = μ_i, directions v_i (rows)

    def local_coordinates(self, x):
        _, V = self._blocks
        return (x @ _like(V.T.copy(), x))[:, :, None]

    @property
    def scales(self) -> np.ndarray:
        return self._blocks[0]

    def evaluate(self, x):
        x = _check_samples(x, self.d)
        A = _like(self.A, x)
        return ((x @ A) * x).sum(1) - float(np.trace(self.A))

    def expression(self) -> sympy.Expr:
        xs = sympy.Matrix(self.variables)
        A = sympy.Matrix(self.d, self.d, lambda i, j: self.scale * _sym(Fraction(self._int_matrix[i, j], self._denominator)))
        return sympy.expand((xs.T * A * xs)[0, 0] - A.trace())

    def violations(self) -> list[str]:
        out = []
        L = self.L
        if L == 0:
            return [NORMALISED]
        lam = np.abs(self.eigenvalues()) * np.sqrt(2 * L)
        slack = 1e-9  # float64 eigenvalues; the bounds are conventions, not sharp constants
        if lam.min() < float(BALANCE_LOW) * (1 - slack) or lam.max() > float(BALANCE_HIGH) * (1 + slack):
            out.append(BALANCED)
        if L < MIN_COMPONENTS_PER_DIMENSION * self.d / self.k:
            out.append(MANY_COMPONENTS)
        if 2 * self.trace_power(2) != 1:
            out.append(NORMALISED)
        return out

    def __repr__(self) -> str:
        return f"QuadraticFeature(d={self.d}, rank={self.L})"


class PolynomialFeature(Feature):
    """Any polynomial feature p in x_0..x_{d-1} (exact), e.g. a general coefficient tensor.

    The exact side expands g∘p naively (cost C(d + kq, kq)); ``violations`` names ORTHOGONAL for
    k >= 3 since p is not given on orthogonal subspaces (every quadratic is: use QuadraticFeature).
    """

    is_structured = False

    def __init__(self, f, *, d: int, k: int | None = None, normalise: bool = False):
        self.d = positive_integer("d", d, error=FeatureError)
        e = f if isinstance(f, HermiteExpansion) else expand(f, self.variables)
        if e.variables != self.variables:
            raise ShapeError(f"the expansion's variables {e.variables} are not x0..x{self.d - 1}")
        if e.is_zero:
            raise FeatureError("p = 0 is not a feature")
        if normalise:
            e = e.centred()
            e = e * (1 / sympy.sqrt(e.norm2()))
        self._expansion = e
        self.k = e.degree if k is None else positive_integer("k", k, error=FeatureError)
        if e.degree != self.k:
            raise DegreeMismatchError(f"p has degree {e.degree}, not k = {self.k}")
        self.L = 1

    @classmethod
    def from_tensor(cls, A, *, normalise: bool = True) -> "PolynomialFeature":
        """p = <A, He_k(x)> = Σ_{i_1..i_k} A_{i_1..i_k} He_{α(i)}(x) for an order-k array A with
        exact entries (α(i) counts the indices), normalised to E p² = 1 by default."""
        T = np.asarray(A, dtype=object)
        if T.ndim < 1 or len(set(T.shape)) != 1:
            raise ShapeError(f"A must be a cubical array (d, ..., d), got shape {T.shape}")
        d, k = T.shape[0], T.ndim
        coeffs: dict[tuple[int, ...], Fraction] = {}
        for index in np.ndindex(*T.shape):
            value = _rational(T[index], f"A{index}")
            if value:
                alpha = [0] * d
                for i in index:
                    alpha[i] += 1
                coeffs[tuple(alpha)] = coeffs.get(tuple(alpha), Fraction(0)) + value
        xs = sympy.symbols(f"x0:{d}")
        e = HermiteExpansion.from_he_coefficients({a: _sym(c) for a, c in coeffs.items() if c}, xs)
        return cls(e, d=d, k=k, normalise=normalise)

    def expansion(self) -> HermiteExpansion:
        return self._expansion

    def expression(self) -> sympy.Expr:
        return self._expansion.to_expr()

    @cached_property
    def _numeric(self):
        from .numeric import compile_expansion

        return compile_expansion(self._expansion)

    def evaluate(self, x):
        return self._numeric(_check_samples(x, self.d))

    def moment(self, r: int) -> sympy.Expr:
        return _naive_moment(self, r)

    def violations(self) -> list[str]:
        out = []
        if self.k >= 3:
            out.append(ORTHOGONAL)
        energies = self._expansion.degree_energies()
        if any(e != 0 for e in energies[: self.k]):
            out.append(HOMOGENEOUS)
        if self._expansion.norm2() != 1:
            out.append(NORMALISED)
        return out

    def __repr__(self) -> str:
        return f"PolynomialFeature(d={self.d}, k={self.k}, terms={len(self._expansion)})"


# --- links ------------------------------------------------------------------------------------

class Link:
    """A polynomial link g(z) with exact coefficients; ``q`` its degree.

    ``coefficients``: monomial coefficients c_0..c_q (exact sympy numbers); ``mean`` = E g(z),
    ``derivative_mean`` = E g'(z), z ~ N(0, 1).
    """

    def __init__(self, g, z: sympy.Symbol = Z):
        self.z = z
        self.poly = link_poly(g, z)
        self.q = int(self.poly.degree())
        if self.q < 0:
            self.q = 0
        self.coefficients = tuple(reversed(self.poly.all_coeffs())) if not self.poly.is_zero else (sympy.Integer(0),)

    @classmethod
    def hermite(cls, n: int) -> "Link":
        """g = h_n = He_n / sqrt(n!) (E g' = 0 for n >= 2: the information-exponent breaker)."""
        from .hermite import h

        return cls(h(positive_integer("n", n, error=FeatureError), Z))

    @classmethod
    def from_he_coefficients(cls, coefficients: Sequence) -> "Link":
        """g = Σ_n a_n He_n(z)."""
        from .hermite import link_from_he_coefficients

        return cls(link_from_he_coefficients(coefficients, Z))

    @property
    def expr(self) -> sympy.Expr:
        return self.poly.as_expr()

    @cached_property
    def mean(self) -> sympy.Expr:
        return link_mean(self.poly, self.z)

    @cached_property
    def derivative_mean(self) -> sympy.Expr:
        return link_derivative_mean(self.poly, self.z)

    @cached_property
    def second_moment(self) -> sympy.Expr:
        return link_second_moment(self.poly, self.z)

    def evaluate(self, z):
        """g elementwise (Horner), numpy or torch."""
        out = z * 0.0
        for c in reversed(self.coefficients):
            out = out * z + float(c)
        return out

    def violations(self) -> list[str]:
        out = []
        if self.mean != 0:
            out.append(CENTRED_LINK)
        if self.derivative_mean == 0:
            out.append(INFO_EXP_1)
        return out

    def to_spec(self) -> list[str]:
        """The monomial coefficients c_0..c_q of g as exact texts (:meth:`from_spec` reads them)."""
        return [_exact_text(c) for c in self.coefficients]

    @classmethod
    def from_spec(cls, coefficients: Sequence[str]) -> "Link":
        return cls(sum((sympy.sympify(c) * Z ** m for m, c in enumerate(coefficients)), sympy.Integer(0)))

    def __repr__(self) -> str:
        return f"Link({self.expr}, q={self.q})"


def feature_from_spec(spec) -> Feature:
    """The feature a :meth:`Feature.to_spec` dictionary describes (exact)."""
    family = spec.get("family")
    if family == "blocks":
        psi = BlockType({tuple(b): Fraction(c) for b, c in spec["psi"]}, name=spec["psi_name"])
        return BlockFeature(psi, _weights_from_texts(spec["lam"]), d=spec["d"],
                            coordinates=np.array(spec["coordinates"], dtype=np.int64))
    if family == "quadratic":
        return QuadraticFeature([[Fraction(v) for v in row] for row in spec["A"]],
                                scale=sympy.sympify(spec.get("scale", "1")))
    raise FeatureError(f"unknown feature family {family!r} in a spec (known: 'blocks', 'quadratic')")


# --- targets ----------------------------------------------------------------------------------

class _StructuredExact:
    """Exact quantities from the structured engine (power sums of the feature)."""

    def __init__(self, feature: Feature, link: Link):
        self.feature = feature
        psi_degree = max(t.degree for t in feature.block_types())
        self.max_degree = psi_degree * max(link.q, 1)
        self.quantities: LinkQuantities = link_quantities(
            feature.block_types(), link.coefficients, max_degree=self.max_degree)

    def value(self, poly: PowerSumPolynomial) -> sympy.Expr:
        return poly.evaluate(self.feature.power_sum)

    def degree_energy(self, j: int) -> sympy.Expr:
        return self.value(self.quantities.degree_energy(j)) if j <= self.max_degree else sympy.Integer(0)

    def cross(self, j: int) -> sympy.Expr:
        return self.value(self.quantities.cross(j)) if j <= self.max_degree else sympy.Integer(0)

    def feature_energy(self, j: int) -> sympy.Expr:
        return self.value(self.quantities.feature_energy(j)) if j <= self.max_degree else sympy.Integer(0)


class _NaiveExact:
    """Exact quantities from the naive expansion of g∘p (small d)."""

    def __init__(self, feature: Feature, link: Link, max_terms: int):
        from math import comb

        terms = comb(feature.d + feature.k * max(link.q, 1), feature.k * max(link.q, 1))
        if terms > max_terms:
            raise NotStructuredError(
                f"{feature!r} is not in orthogonal block form, and the naive expansion of g∘p would "
                f"have up to {terms} monomials (limit {max_terms}); reduce d")
        self.p = feature.expansion()
        self.h = compose(link.expr, link.z, self.p, feature.variables)
        self.max_degree = self.h.degree

    def degree_energy(self, j: int) -> sympy.Expr:
        return self.h.project(j).norm2()

    def cross(self, j: int) -> sympy.Expr:
        return self.h.project(j).inner(self.p.project(j))

    def feature_energy(self, j: int) -> sympy.Expr:
        return self.p.project(j).norm2()


def _exact_backend(feature: Feature, link: Link, naive_max_terms: int):
    if feature.is_structured:
        return _StructuredExact(feature, link)
    return _NaiveExact(feature, link, naive_max_terms)


def _simplify(value) -> sympy.Expr:
    value = sympy.sympify(value)
    return value if value.is_Rational else sympy.radsimp(sympy.expand(value))


class HierarchicalTarget:
    """h = g∘p. Exact quantities (sympy) by the structured engine for block/quadratic features and
    by the naive expansion otherwise (up to ``naive_max_terms`` monomials)."""

    def __init__(self, feature: Feature, link: Link, *, naive_max_terms: int = 200_000):
        if not isinstance(feature, Feature):
            raise TypeError(f"feature must be a theory.features.Feature, got {type(feature).__name__}")
        if not isinstance(link, Link):
            link = Link(link)
        self.feature, self.link = feature, link
        self._naive_max_terms = naive_max_terms

    d = property(lambda self: self.feature.d)
    k = property(lambda self: self.feature.k)
    L = property(lambda self: self.feature.L)
    q = property(lambda self: self.link.q)

    @cached_property
    def _exact(self):
        return _exact_backend(self.feature, self.link, self._naive_max_terms)

    def evaluate(self, x):
        return self.link.evaluate(self.feature.evaluate(x))

    def expression(self) -> sympy.Expr:
        return self.link.expr.subs(self.link.z, self.feature.expression())

    def to_spec(self) -> dict:
        """The feature's spec plus ``link`` (monomial coefficients as exact texts): plain JSON-able
        data to key a cache, ship to a worker or replay a failure; :meth:`from_spec` rebuilds h."""
        return {**self.feature.to_spec(), "link": self.link.to_spec()}

    @classmethod
    def from_spec(cls, spec) -> "HierarchicalTarget":
        return cls(feature_from_spec(spec), Link.from_spec(spec["link"]))

    # exact quantities
    def degree_energy(self, j: int) -> sympy.Expr:
        """||P_j h||², exact."""
        j = nonnegative_integer("the degree j", j, error=FeatureError)
        return _simplify(self._exact.degree_energy(j))

    def degree_energies(self) -> list[sympy.Expr]:
        """[||P_0 h||², ..., ||P_{kq} h||²]."""
        top = self.feature.k * max(self.link.q, 1)
        return [self.degree_energy(j) for j in range(top + 1)]

    def norm2(self) -> sympy.Expr:
        """E h², exact (Σ c_m c_n E p^{m+n}, from moments, independent of the degree split)."""
        c = self.link.coefficients
        total = sum((cm * cn * self.feature.moment(m + n) for m, cm in enumerate(c) for n, cn in enumerate(c)
                     if cm != 0 and cn != 0), sympy.Integer(0))
        return _simplify(total)

    def mean(self) -> sympy.Expr:
        c = self.link.coefficients
        return _simplify(sum((cm * self.feature.moment(m) for m, cm in enumerate(c) if cm != 0), sympy.Integer(0)))

    # The one place for Var h, the plateau and the low-degree share (every check uses these).
    def variance(self) -> sympy.Expr:
        """Var h = E h² − (E h)², exact. A constant target (Var h = 0) has no plateau or share:
        FeatureError."""
        value = _simplify(self.norm2() - self.mean() ** 2)
        if value == 0:
            raise FeatureError(f"{self!r} is constant (Var h = 0): its plateau and shares are 0/0")
        return value

    def projection_norm2(self, degree: int) -> sympy.Expr:
        """||P_{<=degree} h||² = Σ_{j<=degree} ||P_j h||², exact; it includes ||P_0 h||² = (E h)²
        (the scale of the stage-1 error ||ĝ − P_{<=k} h||², since ĝ fits the constant too)."""
        from .validation import nonnegative_integer

        degree = nonnegative_integer("the degree of a projection", degree, error=FeatureError, type_error=FeatureError)
        return _simplify(sum((self.degree_energy(j) for j in range(degree + 1)), sympy.Integer(0)))

    def plateau(self, degree: int) -> sympy.Expr:
        """||P_{>degree} h||² / Var h, exact: the normalised risk floor of a learner of the
        polynomials of degree <= ``degree`` (the kernel plateau). Computed on h − E h, whose
        projections above degree 0 are those of h; degree >= 0."""
        return _simplify((self.norm2() - self.projection_norm2(degree)) / self.variance())

    def low_degree_share(self, degree: int) -> sympy.Expr:
        """||P_{<=degree}(h − E h)||² / Var h = 1 − plateau(degree), exact: the share of the
        variance carried by degrees 1..degree (the constant is not variance)."""
        return _simplify((self.projection_norm2(degree) - self.mean() ** 2) / self.variance())

    def feature_inner(self, j: int | None = None) -> sympy.Expr:
        """<P_j h, P_j p> (j = k by default; equals <h, p> when p is homogeneous of degree k)."""
        return _simplify(self._exact.cross(self.feature.k if j is None else j))

    def stein_gap2(self) -> sympy.Expr:
        """||P_k h - E[g'(z)]·P_k p||² (= ||P_k h - E[g'] p||² for homogeneous p), exact."""
        k, s = self.feature.k, self.link.derivative_mean
        e = self._exact
        return _simplify(e.degree_energy(k) - 2 * s * e.cross(k) + s**2 * e.feature_energy(k))

    def stein_gap(self) -> sympy.Expr:
        return sympy.sqrt(self.stein_gap2())

    def lower_energy(self) -> sympy.Expr:
        """||P_{<k} h||², exact."""
        return _simplify(sum((self._exact.degree_energy(j) for j in range(self.feature.k)), sympy.Integer(0)))

    def stage1_population_corr(self) -> sympy.Expr:
        """corr(P_{<=k} h, p) = <P_{<=k} h, p> / (||P_{<=k} h|| ||p||), exact (p centred)."""
        k = self.feature.k
        inner = sum((self._exact.cross(j) for j in range(k + 1)), sympy.Integer(0))
        energy = sum((self._exact.degree_energy(j) for j in range(k + 1)), sympy.Integer(0))
        pnorm2 = sum((self._exact.feature_energy(j) for j in range(k + 1)), sympy.Integer(0))
        # A correlation with a constant is 0/0, not 0: say so (p = 0 when every λ is 0; P_{<=k} h
        # constant for a constant link, or one whose low-degree part is only its mean).
        if _simplify(pnorm2 - self._exact.feature_energy(0)) == 0:
            raise FeatureError(f"corr(P<=k h, p) is 0/0 for {self!r}: p is constant (every λ is 0?)")
        if _simplify(energy - self._exact.degree_energy(0)) == 0:
            raise FeatureError(f"corr(P<=k h, p) is 0/0 for {self!r}: P<=k h is constant "
                               f"(a constant link, or no degree 1..k part)")
        return _simplify(inner / sympy.sqrt(_simplify(energy) * _simplify(pnorm2)))

    def quantity_polynomials(self) -> LinkQuantities:
        """The power-sum polynomials behind the exact values (structured features only)."""
        if not isinstance(self._exact, _StructuredExact):
            raise NotStructuredError(f"{self.feature!r} has no block structure")
        return self._exact.quantities

    def evaluate_projection(self, x, *, max_degree: int, only_degree: bool = False):
        """P_{<=j} h (or P_j h with ``only_degree``) at the rows of x, float64, same library.

        Structured features: the sparse exact coefficients in the rotated basis h_B(Ux), summed as
        Φ(t)·Π_i(1 + R_i) (theory.structured.project_numeric); otherwise the naive expansion.
        """
        x = _check_samples(x, self.feature.d)
        j = nonnegative_integer("max_degree", max_degree, error=FeatureError)
        f = self.feature
        if isinstance(self._exact, _StructuredExact):
            psi = f.psi
            Q = max(1, self.link.q)
            tables = projection_tables(psi, Q, j)
            log_mgf = [float(_sym(tables.log_mgf_exact[r]) * f.power_sum((0, r))) if r else 0.0
                       for r in range(Q + 1)]
            y = f.local_coordinates(x)
            return project_numeric([(psi, y, _like(np.asarray(f.scales, dtype=np.float64), x))],
                                   [float(c) for c in self.link.coefficients], log_mgf,
                                   max_degree=j, only_degree=only_degree)
        from .numeric import evaluate as evaluate_expansion

        part = self._exact.h.project(j) if only_degree else self._exact.h.project_le(j)
        return evaluate_expansion(part, x)

    def violations(self) -> list[str]:
        return self.feature.violations() + self.link.violations()

    def __repr__(self) -> str:
        return f"HierarchicalTarget({self.feature!r}, {self.link!r})"


class MultiFeatureTarget:
    """h = g(p_1(x), ..., p_R(x)) for a polynomial g in R symbols (Section 6, question 2).

    Exact side by the naive expansion (small d); all features share x_0..x_{d-1}.
    """

    def __init__(self, features: Sequence[Feature], g, symbols: Sequence[sympy.Symbol]):
        self.features = tuple(features)
        self.symbols = tuple(symbols)
        if not self.features:
            raise ShapeError("a multi-feature target needs at least one feature")
        if len(self.symbols) != len(self.features):
            raise ShapeError(f"{len(self.symbols)} link symbols for {len(self.features)} features")
        ds = {f.d for f in self.features}
        if len(ds) != 1:
            raise ShapeError(f"features live in different dimensions {sorted(ds)}")
        self.d = ds.pop()
        self.g = sympy.Poly(sympy.sympify(g), *self.symbols)
        self.q = int(self.g.total_degree())
        self.R = len(self.features)
        self.k = max(f.k for f in self.features)
        self.L = sum(f.L for f in self.features)
        self._numeric_g = sympy.lambdify(self.symbols, self.g.as_expr(), modules="math")

    @cached_property
    def expansion(self) -> HermiteExpansion:
        xs = sympy.symbols(f"x0:{self.d}")
        ps = [f.expansion() for f in self.features]
        total = None
        for monom, c in self.g.terms():
            term = HermiteExpansion.from_he_coefficients({(0,) * self.d: c}, xs)
            for pe, e in zip(ps, monom):
                for _ in range(e):
                    term = term * pe
            total = term if total is None else total + term
        return total

    def degree_energy(self, j: int) -> sympy.Expr:
        return self.expansion.project(j).norm2()

    def norm2(self) -> sympy.Expr:
        return self.expansion.norm2()

    def evaluate(self, x):
        values = [f.evaluate(x) for f in self.features]
        out = values[0] * 0.0
        for monom, c in self.g.terms():
            term = float(c)
            for v, e in zip(values, monom):
                if e:
                    term = term * v**e
            out = out + term
        return out

    def violations(self) -> list[str]:
        out = [SINGLE_FEATURE] if self.R > 1 else []
        for f in self.features:
            out += [v for v in f.violations() if v not in out]
        return out


class RepeatedBlockFamily:
    """The family L -> h_L = g∘p_L, p_L = L^{-1/2} Σ λ_i ψ(y_i) with λ repeating ``motif``.

    Its exact quantities are closed forms in L (L a multiple of the motif length, or a sympy
    symbol): each power sum is (L/M) Σ_motif λ^r (L N)^{-r/2}, so every quantity is
    Σ_w C_w L^{-w} over the weights w of its power-sum monomials (:meth:`expansion_in_L`).
    """

    def __init__(self, psi: BlockType, motif: Sequence, link: Link):
        self.psi = psi
        self.motif = tuple(_sym(_rational(v, "motif λ")) for v in motif)
        if not self.motif:
            raise ShapeError("the motif needs at least one λ")
        self.link = link if isinstance(link, Link) else Link(link)
        self.k = psi.degree
        self.quantities = link_quantities((psi,), self.link.coefficients, max_degree=psi.degree * max(1, self.link.q))

    @property
    def period(self) -> int:
        return len(self.motif)

    def polynomial(self, name: str) -> PowerSumPolynomial:
        """``stein_gap2``, ``lower_energy``, ``cross`` (<P_k h, P_k p>), ``feature_energy``, or
        ``energy_j`` (||P_j h||²), as power-sum polynomials."""
        k, s = self.k, self.link.derivative_mean
        q = self.quantities
        if name == "stein_gap2":
            return q.stein_gap2(k, s)
        if name == "lower_energy":
            return q.lower_energy(k)
        if name == "cross":
            return q.cross(k)
        if name == "feature_energy":
            return q.feature_energy(k)
        if name.startswith("energy_"):
            return q.degree_energy(int(name.split("_", 1)[1]))
        raise KeyError(f"unknown quantity {name!r}")

    def power_sums(self, L) -> Callable[[tuple[int, int]], sympy.Expr]:
        from .structured import periodic_power_sums

        if not isinstance(L, sympy.Basic) and (L < 1 or L % self.period):
            raise ShapeError(f"L = {L} is not a positive multiple of the motif length {self.period}")
        return periodic_power_sums(self.motif, L=L, norm2=_sym(self.psi.norm2))

    def value(self, name: str, L) -> sympy.Expr:
        """The exact quantity at L (an int, or a sympy symbol for the closed form)."""
        return self.polynomial(name).evaluate(self.power_sums(L))

    def expansion_in_L(self, name: str) -> dict[Fraction, sympy.Expr]:
        """{w: C_w} with quantity(L) = Σ_w C_w L^{-w} exactly (zero coefficients dropped)."""
        out = {}
        for w, part in self.polynomial(name).by_weight().items():
            # each monomial of weight w is exactly proportional to L^{-w}: evaluate at L = 1
            M = sympy.Integer(self.period)
            c = sympy.radsimp(sympy.expand(part.evaluate(self.power_sums(M))
                                           * M ** sympy.Rational(w.numerator, w.denominator)))
            if c != 0:
                out[w] = c
        return out

    def closed_form(self, name: str, L: sympy.Symbol | None = None) -> sympy.Expr:
        L = sympy.Symbol("L", positive=True) if L is None else L
        return sum((c * L ** (-sympy.Rational(w.numerator, w.denominator)) for w, c in self.expansion_in_L(name).items()),
                   sympy.Integer(0))

    def feature(self, L: int, *, d: int | None = None) -> BlockFeature:
        """The instance at L on consecutive coordinate blocks."""
        if L % self.period:
            raise ShapeError(f"L = {L} is not a multiple of the motif length {self.period}")
        lam = list(self.motif) * (L // self.period)
        return BlockFeature.coordinate(self.psi, lam, d=d)

    def target(self, L: int, *, d: int | None = None) -> HierarchicalTarget:
        return HierarchicalTarget(self.feature(L, d=d), self.link)


def section5_target(d: int, *, rng: np.random.Generator) -> HierarchicalTarget:
    """The §5 target: p = Σ_{i<=d} λ_i h_3(x_i)/sqrt(d), λ_i = ±1 from ``rng``, g = C_d z³ with
    C_d = (E p⁶)^{-1/2} exact, so that E h² = 1."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy Generator (explicit randomness only)")
    d = positive_integer("d", d, error=FeatureError)
    signs = rng.choice(np.array([-1, 1]), size=d)
    feature = BlockFeature(BlockType.hermite(3), Weights.from_signs(signs), d=d, coordinates=np.arange(d)[:, None])
    C = 1 / sympy.sqrt(feature.moment(6))
    return HierarchicalTarget(feature, Link(C * Z**3))
