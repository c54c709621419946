"""Baselines: kernel ridge against scikit-learn, the closed-form ReLU kernels against Monte Carlo
over random ReLU units (the exact/numeric pairing of neural-tangents), random features against
their kernel, the Hermite oracle against exact coefficients, the two-layer network."""
from __future__ import annotations

import math

import numpy as np
import pytest
import sklearn.kernel_ridge as sk  # in the test extra: the cross-check must run, never skip
import torch

from model import (
    ModelInputError,
    StoppingRule,
    arccos_kernel,
    fit_hermite_oracle,
    fit_kernel_ridge,
    fit_random_features,
    hermite_multi_indices,
    kernel_matrix,
    make_dataset,
    polynomial_space_dim,
    relu_ntk_kernel,
    sample_inputs,
    train_two_layer,
)
from model_targets import EPS, gen, quadratic_target




def _data(n=80, d=5, seed=0):
    x = sample_inputs(n, d, generator=gen(seed))
    y = torch.sin(x[:, 0]) + x[:, 1] * x[:, 2]
    return x, y


@pytest.mark.parametrize("degree,gamma,coef0", [(2, None, 1.0), (3, 0.5, 0.3)])
def test_polynomial_kernel_ridge_equals_scikit_learn(degree, gamma, coef0):
    x, y = _data()
    xt = sample_inputs(30, 5, generator=gen(1))
    ridge = 1e-3
    ours, _ = fit_kernel_ridge(x, y, kernel="polynomial", ridge=ridge, degree=degree, gamma=gamma, coef0=coef0)
    theirs = sk.KernelRidge(alpha=x.shape[0] * ridge, kernel="poly", degree=degree,
                            gamma=1 / 5 if gamma is None else gamma, coef0=coef0).fit(x.numpy(), y.numpy())
    K = kernel_matrix(x, x, kernel="polynomial", degree=degree, gamma=gamma, coef0=coef0)
    cond = float(torch.linalg.cond(K + x.shape[0] * ridge * torch.eye(x.shape[0], dtype=torch.float64)))
    scale = float(ours.dual_coef.abs().sum()) * float(K.abs().max())
    np.testing.assert_allclose(ours.predict(xt).numpy(), theirs.predict(xt.numpy()), rtol=0,
                               atol=100 * EPS * cond * scale)


@pytest.mark.parametrize("kernel", ["arccos", "ntk"])
def test_relu_kernel_ridge_equals_scikit_learn_on_the_precomputed_gram(kernel):
    x, y = _data()
    xt = sample_inputs(20, 5, generator=gen(2))
    ours, _ = fit_kernel_ridge(x, y, kernel=kernel, ridge=1e-3, bias=True)
    K = kernel_matrix(x, x, kernel=kernel, bias=True).numpy()
    theirs = sk.KernelRidge(alpha=x.shape[0] * 1e-3, kernel="precomputed").fit(K, y.numpy())
    expected = theirs.predict(kernel_matrix(xt, x, kernel=kernel, bias=True).numpy())
    np.testing.assert_allclose(ours.predict(xt).numpy(), expected, rtol=1e-8, atol=1e-10)


def test_every_fitted_baseline_is_called_like_the_network():
    """krr(x), rf(x), oracle(x) as net(x); ``.predict`` is the same function under sklearn's name."""
    x, y = _data()
    xt = sample_inputs(10, 5, generator=gen(3))
    fitted = [fit_kernel_ridge(x, y, kernel="polynomial", ridge=1e-3, degree=2)[0],
              fit_random_features(x, y, width=64, ridge=1e-3, generator=gen(4))[0],
              fit_hermite_oracle(x, y, k=2)[0]]
    for model in fitted:
        assert torch.equal(model(xt), model.predict(xt)) and model(xt).shape == (10,)


def _pairs(seed=3):
    x = sample_inputs(4, 6, generator=gen(seed))
    return x, torch.cat([x[:1], -x[:1], sample_inputs(2, 6, generator=gen(seed + 1))])


@pytest.mark.parametrize("bias", [False, True])
def test_arccos_kernel_is_the_mean_of_random_relu_units(bias):
    x, z = _pairs()
    W = torch.randn(400_000, 6 + bias, generator=gen(5), dtype=torch.float64)
    lift = lambda t: torch.cat([t / math.sqrt(6), torch.ones(t.shape[0], 1, dtype=t.dtype)], 1) if bias else t / math.sqrt(6)
    units_x, units_z = torch.relu(lift(x) @ W.T), torch.relu(lift(z) @ W.T)
    products = units_x[:, None, :] * units_z[None, :, :]
    mc, se = products.mean(-1), products.std(-1) / math.sqrt(W.shape[0])
    assert torch.all((arccos_kernel(x, z, bias=bias) - mc).abs() <= 6 * se + 1e-12)  # 6 sd: false alarm < 1e-8


def test_ntk_is_the_mean_gradient_inner_product_of_a_two_layer_relu_net():
    # f(x) = m^{-1/2} Σ c_j relu(w_j·x̃): ∇_c f·∇_c f' → arccos, ∇_w f·∇_w f' → (x̃·z̃) E[1{w·x̃>0}1{w·z̃>0}]
    x, z = _pairs(7)
    W = torch.randn(400_000, 6, generator=gen(8), dtype=torch.float64)
    xs, zs = x / math.sqrt(6), z / math.sqrt(6)
    ax, az = xs @ W.T, zs @ W.T
    terms = torch.relu(ax)[:, None] * torch.relu(az)[None] + (xs @ zs.T)[..., None] * (
        (ax > 0).double()[:, None] * (az > 0).double()[None])
    mc, se = terms.mean(-1), terms.std(-1) / math.sqrt(W.shape[0])
    assert torch.all((relu_ntk_kernel(x, z) - mc).abs() <= 6 * se + 1e-12)


def test_relu_kernels_closed_form_values():
    x = sample_inputs(3, 4, generator=gen(9))
    torch.testing.assert_close(arccos_kernel(x, x).diagonal(), x.square().sum(1) / 4 / 2)
    e1, e2 = torch.eye(4, dtype=torch.float64)[:1] * 2, torch.eye(4, dtype=torch.float64)[1:2] * 2
    torch.testing.assert_close(arccos_kernel(e1, e2), torch.tensor([[1 / (2 * math.pi)]], dtype=torch.float64))
    torch.testing.assert_close(relu_ntk_kernel(e1, -e1), torch.zeros(1, 1, dtype=torch.float64))


def test_random_features_gram_tends_to_the_arccos_kernel():
    x, _ = _data(n=6)
    model, _ = fit_random_features(x, torch.zeros(6, dtype=torch.float64), width=200_000, ridge=1.0, generator=gen(10))
    phi = model.features(x)
    gram = phi @ phi.T
    # each entry is a mean of 2e5 iid products with sd <= E|x̃|^2 ≈ 2: 6 sd ≈ 0.03
    torch.testing.assert_close(gram, arccos_kernel(x, x, bias=True), atol=0.03, rtol=0)


def test_random_features_ridge_is_deterministic_and_fits():
    x, y = _data(n=200)
    a, info = fit_random_features(x, y, width=300, ridge=1e-4, generator=gen(11))
    b, _ = fit_random_features(x, y, width=300, ridge=1e-4, generator=gen(11))
    assert torch.equal(a.weights, b.weights) and info["solver"] == "dual"
    assert float((a.predict(x) - y).square().mean()) < float(y.var())


def test_hermite_oracle_recovers_exact_coefficients_of_a_degree_k_polynomial():
    target = quadratic_target(3)
    data = make_dataset(target.feature, 60, d=3, generator=gen(12))
    oracle, info = fit_hermite_oracle(data.x, data.y, k=2)
    alphas, exact = target.p_expansion.float_terms("h")
    lookup = {tuple(a): c for a, c in zip(alphas.tolist(), exact)}
    expected = torch.tensor([lookup.get(tuple(a), 0.0) for a in oracle.alphas.tolist()], dtype=torch.float64)
    torch.testing.assert_close(oracle.coefficients, expected, atol=1e-12, rtol=0)
    assert info["basis_size"] == polynomial_space_dim(3, 2)


def test_multi_indices_count_and_order():
    alphas = hermite_multi_indices(4, 3)
    assert alphas.shape == (35, 4) and len({tuple(a) for a in alphas.tolist()}) == 35
    assert np.all(np.diff(alphas.sum(1)) >= 0) and alphas.sum(1).max() == 3
    assert alphas[1:5].tolist() == np.eye(4, dtype=int).tolist()


@pytest.mark.training
def test_two_layer_network_trains_and_is_deterministic():
    data = make_dataset(quadratic_target(3), 200, d=3, generator=gen(13))
    rule = StoppingRule(max_steps=200, eval_every=20, patience=3)
    a, info = train_two_layer(data, width=64, generator=gen(14), lr=3e-2, stopping=rule)
    b, _ = train_two_layer(data, width=64, generator=gen(14), lr=3e-2, stopping=rule)
    assert torch.equal(a.W, b.W)
    assert info["final_train_loss"] < info["history"][0][1]


def test_kernel_errors():
    x, y = _data(n=10)
    with pytest.raises(ModelInputError, match="unknown kernel"):
        fit_kernel_ridge(x, y, kernel="rbf", ridge=1e-2)
    with pytest.raises(ModelInputError, match="ridge"):
        fit_kernel_ridge(x, y, kernel="arccos", ridge=0.0)
    with pytest.raises(ModelInputError, match="kernel inputs"):
        arccos_kernel(x, x[:, :3])
