"""theory.features: constructors, clear errors, violations by name, exact vs numeric evaluation."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy
import torch

from checks.registry import BALANCED, CENTRED_LINK, HOMOGENEOUS, INFO_EXP_1, MANY_COMPONENTS, NORMALISED, ORTHOGONAL
from theory import compose
from theory.features import (
    BALANCE_HIGH,
    BALANCE_LOW,
    SINGLE_FEATURE,
    BlockFeature,
    DegreeMismatchError,
    DimensionError,
    FeatureError,
    HierarchicalTarget,
    Link,
    MultiFeatureTarget,
    NotStructuredError,
    PolynomialFeature,
    QuadraticFeature,
    ShapeError,
    Weights,
    section5_target,
)
from theory.hermite import Z
from theory.structured import BlockType

ROT3 = np.array([[Fraction(1, 3), Fraction(2, 3), Fraction(2, 3)],
                 [Fraction(2, 3), Fraction(1, 3), Fraction(-2, 3)],
                 [Fraction(2, 3), Fraction(-2, 3), Fraction(1, 3)]], dtype=object)  # exactly orthogonal


def _exact_at(feature, point) -> float:
    f = sympy.lambdify(feature.variables, feature.expression(), modules="mpmath")
    return float(f(*[sympy.Rational(v) for v in point]))


# --- weights -------------------------------------------------------------------------------------

def test_weights_power_sums_and_bounds():
    w = Weights([Fraction(1, 5), Fraction(-7, 5), 1])
    assert w.power_sum(2) == 3 and w.power_sum(3) == sympy.Rational(1 - 343 + 125, 125)
    assert w.is_balanced()  # both bounds are inclusive
    # Balance is a property of the normalised λ (Σ λ² = L): the scale does not matter.
    assert not Weights([Fraction(1, 10), 1]).is_balanced()  # normalised: 0.14 < 1/5
    assert Weights([Fraction(1, 6), 1]).is_balanced()  # normalised: 0.23 and 1.395, inside [1/5, 7/5]
    assert Weights([3] * 10).is_balanced() and Weights([Fraction(1, 1000)] * 3).is_balanced()
    assert not Weights([0, 0]).is_balanced()
    assert Weights.constant(1, 10**6).power_sum(5) == 10**6
    signs = Weights.from_signs(np.array([1, -1, -1]))
    assert signs.power_sum(3) == -1 and signs.power_sum(4) == 3
    n = Weights([3, 4]).normalised()
    assert n.sum_squares() == 2 and n.values[0] / n.values[1] == sympy.Rational(3, 4)
    assert Weights([1, 1, 1, 1]).effective_number() == 4
    with pytest.raises(ShapeError):
        Weights([])
    with pytest.raises(FeatureError):
        Weights([sympy.pi])
    with pytest.raises(FeatureError):
        Weights.from_signs(np.array([1, 2]))


# --- constructors refuse malformed input ------------------------------------------------------

def test_constructors_refuse_malformed_input():
    with pytest.raises(DegreeMismatchError):
        BlockFeature(BlockType.hermite(3), [1], d=1, coordinates=[[0]], k=2)
    with pytest.raises(ShapeError):
        BlockFeature.decomposable(np.array([1, 0, 0]), [1], 2)  # directions must be (L, d)
    with pytest.raises(ShapeError):
        BlockFeature.decomposable(ROT3[:2], [1, 1, 1], 2)  # 3 weights for 2 directions
    with pytest.raises(DimensionError):
        BlockFeature.products([[0, 1], [2, 5]], [1, 1], d=4)  # coordinate 5 >= d
    with pytest.raises(DimensionError):
        BlockFeature(BlockType.hermite(2), [1] * 4, d=3, directions=np.eye(4, 3))
    with pytest.raises(FeatureError, match="repeats a coordinate"):
        BlockFeature.products([[0, 0]], [1], d=2)
    with pytest.raises(FeatureError, match="exactly one"):
        BlockFeature(BlockType.hermite(2), [1], d=1)
    with pytest.raises(ShapeError):
        QuadraticFeature(np.zeros((2, 3)))
    with pytest.raises(FeatureError, match="symmetric"):
        QuadraticFeature(np.array([[0, 1], [0, 0]]))
    with pytest.raises(DegreeMismatchError):
        PolynomialFeature(sympy.Symbol("x0") ** 2, d=1, k=3)
    feature = BlockFeature.decomposable_on_coordinates([1, 1], 2)
    with pytest.raises(ShapeError):
        feature.evaluate(np.zeros((3, 5)))
    with pytest.raises(TypeError, match="float64"):
        feature.evaluate(np.zeros((3, 2), dtype=np.float32))
    with pytest.raises(TypeError):
        section5_target(4, rng=0)


# --- violations by name ------------------------------------------------------------------------

def test_violations_by_name():
    ok = BlockFeature.decomposable(ROT3, [Fraction(1, 5), Fraction(7, 5), 1], 3)
    assert ok.violations() == [] and ok.orthogonal
    skew = np.array([[1, 0, 0], [Fraction(3, 5), Fraction(4, 5), 0]], dtype=object)
    assert ORTHOGONAL in BlockFeature.decomposable(skew, [1, 1], 2).violations()
    assert BALANCED in BlockFeature.decomposable(ROT3, Weights([8, 1, 1]).normalised(), 2).violations()
    assert MANY_COMPONENTS in BlockFeature.decomposable_on_coordinates([1], 2, d=10).violations()
    assert NORMALISED in BlockFeature.decomposable_on_coordinates([1, Fraction(1, 2)], 2).violations()
    lower = BlockType({(2,): 1, (1,): 1})
    assert HOMOGENEOUS in BlockFeature.coordinate(lower, [1]).violations()
    assert Link.hermite(2).violations() == [INFO_EXP_1] and Link.hermite(3).violations() == [INFO_EXP_1]
    assert Link(Z + Z**2).violations() == [CENTRED_LINK]
    assert Link(Z + Z**2 - 1).violations() == []
    tensor = PolynomialFeature.from_tensor(np.arange(8).reshape(2, 2, 2) - 3)
    assert ORTHOGONAL in tensor.violations() and tensor.norm2() == 1
    A = np.array([[Fraction(1, 2), 0], [0, Fraction(1, 2)]], dtype=object)
    assert QuadraticFeature(A).violations() == [] and QuadraticFeature(A * Fraction(6, 5)).violations() == [NORMALISED]
    target = HierarchicalTarget(BlockFeature.decomposable_on_coordinates([1], 2, d=10), Link.hermite(2))
    assert set(target.violations()) == {MANY_COMPONENTS, INFO_EXP_1}


# --- exact and numeric evaluation agree ----------------------------------------------------------

@pytest.mark.parametrize("feature", [
    BlockFeature.decomposable(ROT3[:2], [1, -1], 3),
    BlockFeature.products([[0, 2], [1, 3]], [Fraction(1, 5), Fraction(7, 5)], d=5),
    BlockFeature.coordinate(BlockType({(2, 1): 1, (0, 3): -2}), [1, -1]),
    QuadraticFeature(np.array([[Fraction(1, 4), Fraction(1, 8)], [Fraction(1, 8), Fraction(-1, 4)]], dtype=object)),
    PolynomialFeature.from_tensor(np.arange(27).reshape(3, 3, 3) % 5 - 2),
], ids=["decomposable", "products", "general-psi", "quadratic", "tensor"])
def test_numeric_equals_exact_and_torch_equals_numpy(feature):
    x = np.random.default_rng(0).standard_normal((6, feature.d))
    values = feature.evaluate(x)
    assert values.shape == (6,)
    exact = np.array([_exact_at(feature, row) for row in x])
    # float64 rounding of a few hundred O(|x|^k) terms
    np.testing.assert_allclose(values, exact, rtol=1e-12, atol=1e-12)
    tv = feature.evaluate(torch.from_numpy(x))
    assert isinstance(tv, torch.Tensor) and tv.dtype == torch.float64
    np.testing.assert_allclose(tv.numpy(), values, rtol=1e-13, atol=1e-13)


def test_quadratic_traces_are_eigenvalue_power_sums():
    Q = ROT3
    feature = QuadraticFeature.from_spectrum([Fraction(1, 5), Fraction(7, 5)], Q)
    assert feature.L == 2 and feature.violations() == []
    mu = feature.eigenvalues()
    for r in range(1, 7):
        assert float(feature.trace_power(r)) == pytest.approx(float(np.sum(mu**r)), rel=1e-12, abs=1e-15)
    assert 2 * feature.trace_power(2) == 1


def test_section5_target_is_normalised_and_reproducible():
    target = section5_target(12, rng=np.random.default_rng(5))
    assert target.norm2() == 1 and target.mean() == 0
    assert sum(target.degree_energies()) == 1  # Parseval, independent route (degree split)
    assert target.violations() == []
    assert (target.d, target.k, target.L, target.q) == (12, 3, 12, 3)
    again = section5_target(12, rng=np.random.default_rng(5))
    assert again.feature.weights == target.feature.weights
    x = np.random.default_rng(6).standard_normal((4, 12))
    np.testing.assert_allclose(target.evaluate(x), again.evaluate(x))


def test_stage1_corr_and_gap_against_naive():
    feature = BlockFeature.decomposable(ROT3[:2], [Fraction(1, 5), Fraction(7, 5)], 2)
    link = Link(Z + Z**2 - 1 + Z**3 / 3)
    target = HierarchicalTarget(feature, link)
    p = feature.expansion()
    h = compose(link.expr, Z, p, feature.variables)
    low = h.project_le(2)
    corr = low.inner(p) / sympy.sqrt(low.norm2() * p.norm2())
    assert sympy.simplify(target.stage1_population_corr() - corr) == 0
    assert 0 < float(corr) <= 1


def test_polynomial_feature_naive_path_and_its_limit():
    tensor = PolynomialFeature.from_tensor(np.arange(8).reshape(2, 2, 2) - 3)
    target = HierarchicalTarget(tensor, Link(Z + Z**3 / 3))
    h = compose(target.link.expr, Z, tensor.expansion(), tensor.variables)
    gap2 = (h.project(3) - tensor.expansion() * target.link.derivative_mean).norm2()
    assert sympy.simplify(target.stein_gap2() - gap2) == 0
    big = PolynomialFeature.from_tensor(np.ones((30, 30, 30), dtype=int))
    with pytest.raises(NotStructuredError, match="reduce d"):
        HierarchicalTarget(big, Link(Z + Z**3)).stein_gap2()


def test_multi_feature_target():
    z1, z2 = sympy.symbols("z1 z2")
    p1 = BlockFeature(BlockType.hermite(2), [1], d=2, coordinates=[[0]])
    p2 = BlockFeature(BlockType.hermite(2), [1], d=2, coordinates=[[1]])
    target = MultiFeatureTarget([p1, p2], z1 * z2 + z1, [z1, z2])
    # h = h_2(x0) h_2(x1) + h_2(x0): energy 1 at degree 4 and 1 at degree 2
    assert [target.degree_energy(j) for j in range(5)] == [0, 0, 1, 0, 1]
    assert target.violations() == [SINGLE_FEATURE] and target.q == 2
    x = np.random.default_rng(0).standard_normal((5, 2))
    expected = p1.evaluate(x) * p2.evaluate(x) + p1.evaluate(x)
    np.testing.assert_allclose(target.evaluate(x), expected, rtol=1e-14)
    with pytest.raises(ShapeError):
        MultiFeatureTarget([p1, p2], z1, [z1])


def test_links():
    g = Link.from_he_coefficients([0, 2, 0, 1])
    assert g.q == 3 and g.mean == 0 and g.derivative_mean == 2
    assert Link.hermite(3).derivative_mean == 0 and Link.hermite(1).derivative_mean == 1
    z = np.linspace(-2, 2, 5)
    np.testing.assert_allclose(g.evaluate(z), 2 * z + z**3 - 3 * z)
    assert torch.allclose(g.evaluate(torch.from_numpy(z)), torch.from_numpy(2 * z + z**3 - 3 * z))


def test_balance_bounds_constants():
    assert BALANCE_LOW**2 + BALANCE_HIGH**2 == 2  # the circle pair that reaches both bounds


# --- one family of integer validators (theory/validation.py) -------------------------------------

def test_integer_validators_are_one_family_with_one_message_across_layers():
    from model import ModelInputError, polynomial_space_dim
    from theory.hermite import NegativeDegreeError, he
    from theory.validation import integer_at_least, nonnegative_integer, positive_integer

    assert positive_integer("m1", np.int64(3)) == 3 and type(positive_integer("m1", np.int64(3))) is int
    assert nonnegative_integer("j", sympy.Integer(0)) == 0 and integer_at_least("q", 4, 2) == 4
    for bad in (True, 2.0, "3"):
        with pytest.raises(TypeError, match="must be a positive integer"):
            positive_integer("m1", bad)
    with pytest.raises(ValueError, match=r"^q must be an integer >= 2, got 1$"):
        integer_at_least("q", 1, 2)
    # The same rule and wording in each layer, each with its own error class.
    with pytest.raises(FeatureError, match=r"^d must be a positive integer, got 0$"):
        BlockFeature.decomposable_on_coordinates([1], 2, d=0)
    with pytest.raises(ModelInputError, match=r"^d must be a positive integer, got 0$"):
        polynomial_space_dim(0, 2)
    with pytest.raises(NegativeDegreeError, match=r"^n must be a non-negative integer, got -1"):
        he(-1)


@pytest.mark.parametrize("library", ["numpy", "torch"])
def test_block_feature_evaluation_in_row_chunks_agrees_to_rounding(library, monkeypatch):
    import theory.features as features

    feature = section5_target(12, rng=np.random.default_rng(3)).feature
    x = np.random.default_rng(4).standard_normal((1000, 12))
    x = torch.from_numpy(x) if library == "torch" else x
    whole = feature.evaluate(x)
    monkeypatch.setattr(features, "EVALUATION_CHUNK_ELEMENTS", 12 * 4 * 7)   # 7 rows a chunk, a ragged last one
    chunked = feature.evaluate(x)
    assert type(chunked) is type(whole) and chunked.shape == (1000,)
    # equal up to the summation order of the final dot product over blocks (BLAS blocks by row count)
    assert np.allclose(np.asarray(chunked), np.asarray(whole), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("library", ["numpy", "torch"])
def test_non_finite_samples_are_refused_and_huge_finite_ones_are_not(library):
    from theory.features import NonFiniteSampleError, _check_samples

    as_lib = (lambda a: torch.from_numpy(a)) if library == "torch" else (lambda a: a)
    _check_samples(as_lib(np.full((4, 3), 1e308)), 3)       # the sum overflows; every entry is finite
    for bad in (np.nan, np.inf, -np.inf):
        x = np.zeros((4, 3))
        x[2, 1] = bad
        with pytest.raises(NonFiniteSampleError, match="NaN or inf"):
            _check_samples(as_lib(x), 3)
