"""Network (1), its activations, initialisation and input laws: shapes, dtypes, devices,
determinism, the stage-1 gradient identity, and the errors for bad input."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from numpy.polynomial import hermite_e

from model import (
    INPUT_LAWS,
    ModelInputError,
    PolynomialActivation,
    evaluate_on,
    experiment_widths,
    init_three_layer,
    make_dataset,
    polynomial_space_dim,
    sample_inputs,
    theory_widths,
)
from model.network import student_t
from model_targets import gen



@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_hermite_activation_is_the_orthonormal_hermite_polynomial(k):
    z = torch.linspace(-4, 4, 33, dtype=torch.float64)
    expected = hermite_e.hermeval(z.numpy(), [0] * k + [1]) / math.sqrt(math.factorial(k))
    np.testing.assert_allclose(PolynomialActivation.hermite(k)(z).numpy(), expected, rtol=1e-13, atol=1e-12)
    assert PolynomialActivation.hermite(k).degree == k


def test_monomial_activation_follows_dtype_and_degree():
    act = PolynomialActivation.monomial(3)
    z = torch.tensor([-2.0, 0.5, 3.0], dtype=torch.float32)
    out = act(z)
    assert out.dtype == torch.float32 and torch.equal(out, z**3)
    assert act.degree == 3


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_degree_below_one_is_refused(bad):
    with pytest.raises(ModelInputError, match="k of σ1"):
        PolynomialActivation.hermite(bad)
    with pytest.raises(ModelInputError, match="k of σ1"):
        init_three_layer(3, 4, 2, generator=gen(), k=bad)


@pytest.mark.parametrize("name,value", [("m1", 0), ("m2", -3), ("d", 0)])
def test_zero_or_negative_widths_are_refused(name, value):
    sizes = {"d": 3, "m1": 4, "m2": 2, name: value}
    with pytest.raises(ModelInputError, match=f"{name} must be a positive integer"):
        init_three_layer(sizes["d"], sizes["m1"], sizes["m2"], generator=gen(), k=2)


def test_widths_defaults():
    assert theory_widths(16, 3, 0.5) == (math.ceil(16**3.5), 4)
    assert theory_widths(4, 2, 0.5) == (32, 2)  # 4^2.5 = 32 exactly, no rounding up
    assert experiment_widths(16) == (256, 1000)
    assert polynomial_space_dim(6, 2) == 28 and polynomial_space_dim(4, 3) == 35
    with pytest.raises(ModelInputError, match="α in"):
        theory_widths(8, 2, 1.0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shapes_dtypes_and_zero_readouts_at_init(dtype):
    d, m1, m2, n = 5, 12, 7, 9
    model = init_three_layer(d, m1, m2, generator=gen(), k=2, dtype=dtype)
    x = sample_inputs(n, d, generator=gen(1), dtype=dtype)
    assert model.first_layer(x).shape == (n, m1)
    assert model.feature(x).shape == (n,) and model(x).shape == (n,)
    assert model(x).dtype == dtype and all(p.dtype == dtype for p in model.parameters())
    assert (model.d, model.m1, model.m2, model.k) == (d, m1, m2, 2)
    assert torch.count_nonzero(model.u) == 0 and torch.count_nonzero(model.c) == 0
    assert torch.allclose(model.V.norm(dim=1), torch.ones(m1, dtype=dtype))
    assert set(model.a.detach().tolist()) <= {-1.0, 1.0}
    assert float(model.s.detach().abs().max()) <= 1.0


def test_mup_output_init_scales_with_width():
    model = init_three_layer(4, 400, 300, generator=gen(), k=2, output_init="mup")
    # N(0, 1/m²) entries: m·sd ≈ 1 (400 and 300 draws: within 20%).
    assert 0.8 < float(model.u.detach().std() * 400) < 1.2 and 0.8 < float(model.c.detach().std() * 300) < 1.2


def test_student_t_bias_is_heavy_tailed_with_unit_scale():
    b = student_t((200_000,), 9, generator=gen())
    # t_9: variance 9/7, excess kurtosis 6/(9-4) = 1.2 (standard errors ~0.01 and ~0.05 here).
    assert abs(float(b.var()) - 9 / 7) < 0.05
    kurt = float(((b - b.mean()) ** 4).mean() / b.var() ** 2) - 3
    assert 0.8 < kurt < 1.6


def test_with_zero_readout_c_the_gradient_in_u_is_the_first_layer():
    model = init_three_layer(4, 10, 6, generator=gen(), k=3, output_init="mup")
    with torch.no_grad():
        model.c.zero_()
    x = sample_inputs(5, 4, generator=gen(2))
    for i in range(x.shape[0]):
        model.zero_grad()
        model(x[i:i + 1]).sum().backward()
        expected = model.sigma1(x[i] @ model.V.detach().T + model.s.detach())
        torch.testing.assert_close(model.u.grad, expected, rtol=1e-14, atol=1e-14)


def test_forward_is_equation_one():
    model = init_three_layer(3, 8, 5, generator=gen(), k=2, output_init="mup")
    x = sample_inputs(6, 3, generator=gen(3))
    with torch.no_grad():
        g = (model.sigma1(x @ model.V.T + model.s) * model.u).sum(1)
        f = (torch.relu(g[:, None] * model.a + model.b) * model.c).sum(1) + g
        torch.testing.assert_close(model(x), f)


def test_runs_are_deterministic_given_their_generators():
    one = init_three_layer(4, 9, 5, generator=gen(7), k=2, output_init="mup")
    two = init_three_layer(4, 9, 5, generator=gen(7), k=2, output_init="mup")
    other = init_three_layer(4, 9, 5, generator=gen(8), k=2, output_init="mup")
    for p, q, r in zip(one.parameters(), two.parameters(), other.parameters()):
        assert torch.equal(p, q)
    assert not torch.equal(one.V, other.V)
    assert torch.equal(sample_inputs(5, 3, generator=gen(4)), sample_inputs(5, 3, generator=gen(4)))


def test_a_seed_gives_the_same_network_in_any_dtype():
    a = init_three_layer(4, 9, 5, generator=gen(7), k=2, dtype=torch.float64)
    b = init_three_layer(4, 9, 5, generator=gen(7), k=2, dtype=torch.float32)
    torch.testing.assert_close(a.V.to(torch.float32), b.V)


def test_generator_must_be_explicit():
    with pytest.raises(TypeError, match="explicit torch.Generator"):
        init_three_layer(3, 4, 2, generator=None, k=2)
    with pytest.raises(TypeError, match="explicit torch.Generator"):
        sample_inputs(3, 2, generator=np.random.default_rng(0))


def test_mismatched_input_shapes_are_refused():
    model = init_three_layer(4, 6, 3, generator=gen(), k=2)
    with pytest.raises(ModelInputError, match=r"\(n, d=4\)"):
        model(torch.zeros(5, 3, dtype=torch.float64))
    with pytest.raises(ModelInputError, match=r"\(n, d=4\)"):
        model(torch.zeros(4, dtype=torch.float64))


@pytest.mark.parametrize("law", INPUT_LAWS)
def test_every_input_law_has_unit_variance_per_coordinate(law):
    x = sample_inputs(40_000, 5, generator=gen(11), law=law)
    # the sample variance of a unit-variance coordinate has sd <= sqrt(E x^4 - 1)/sqrt(n) < 0.01
    # for these laws (E x^4 <= 3); 6 sd allowed.
    torch.testing.assert_close(x.var(dim=0), torch.ones(5, dtype=torch.float64), atol=0.06, rtol=0)
    assert abs(float(x.mean())) < 0.03


def test_input_laws_have_their_supports():
    d = 6
    assert torch.all(sample_inputs(50, d, generator=gen(), law="rademacher").abs() == 1)
    sphere = sample_inputs(50, d, generator=gen(), law="sphere")
    torch.testing.assert_close(sphere.norm(dim=1), torch.full((50,), math.sqrt(d), dtype=torch.float64))
    assert float(sample_inputs(500, d, generator=gen(), law="cube").abs().max()) <= math.sqrt(3)
    with pytest.raises(ModelInputError, match="unknown input law"):
        sample_inputs(5, 2, generator=gen(), law="laplace")


class _BadTarget:
    def __init__(self, out):
        self.out = out

    def evaluate(self, x):
        return self.out(x)


def test_targets_with_wrong_shapes_or_nan_values_are_refused():
    x = sample_inputs(4, 3, generator=gen())
    with pytest.raises(ModelInputError, match="expected \\(4,\\)"):
        evaluate_on(_BadTarget(lambda x: np.zeros((4, 2))), x)
    with pytest.raises(ModelInputError, match="non-finite"):
        evaluate_on(_BadTarget(lambda x: np.full(4, np.nan)), x)
    data = make_dataset(_BadTarget(lambda x: x[:, 0] * 2), 4, d=3, generator=gen(), dtype=torch.float32)
    assert data.y.dtype == torch.float32 and data.n == 4


def test_noise_is_drawn_from_the_generator_after_the_inputs():
    target = _BadTarget(lambda x: x[:, 0])
    clean = make_dataset(target, 2000, d=2, generator=gen(5))
    noisy = make_dataset(target, 2000, d=2, generator=gen(5), noise_std=0.5)
    assert torch.equal(clean.x, noisy.x)
    assert abs(float((noisy.y - clean.y).std()) - 0.5) < 0.05
