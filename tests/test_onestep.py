"""The one-step method of Nichani, Damian, Lee 2023 (model/onestep.py): the constant output at
initialisation, the step against autograd and against an independent n×n kernel computation, the
learned feature on a k = 2 target (sphere: it finds p; Gaussian: the radial direction dominates, as
derived in the module docstring), grid search, determinism, and the errors."""
from __future__ import annotations

import math

import pytest
import torch

from model import ModelInputError, correlation, make_dataset, sample_inputs
from model.onestep import (
    OneStepNet,
    fit_readout,
    init_one_step,
    resample_biases,
    select_one_step_hyperparameters,
    take_one_step,
    train_one_step,
)
from model_targets import EPS, gen


def _k2_target(d: int):
    """h = g(p), p = d^{-1/2} Σ (−1)^i h_2(x_i) (tr A = 0), g(z) = z + (z² − 1)/2: E g' = 1, q = 2."""
    from theory.features import BlockFeature, HierarchicalTarget, Link
    from theory.hermite import Z

    return HierarchicalTarget(BlockFeature.decomposable_on_coordinates([(-1) ** i for i in range(d)], 2),
                              Link(Z + (Z**2 - 1) / 2))


class _Cubic:
    k = 2

    def evaluate(self, x):
        return x[:, 0] * x[:, 1] + 0.5 * x[:, 2] ** 3 - 0.2


@pytest.mark.parametrize("sigma1", ["relu", "hermite"])
def test_output_is_constant_zero_before_the_step(sigma1):
    net = init_one_step(4, 6, 5, generator=gen(0), sigma1=sigma1, sigma1_degree=2)
    x = sample_inputs(50, 4, generator=gen(1))
    out = net(x)
    assert torch.equal(out, out[:1].expand(50))  # the same value at every input
    assert abs(float(out[0])) <= 4 * EPS  # (1/6)(3·σ2(b) − 3·σ2(b)): zero up to the rounding of the sum
    assert torch.equal(net.W, torch.zeros(6, 5, dtype=torch.float64))
    assert torch.equal(net.feature(x), torch.zeros(50, dtype=torch.float64))


@pytest.mark.parametrize("sigma1", ["relu", "hermite"])
def test_the_step_is_the_gradient_step_and_smooths_the_labels_by_the_kernel(sigma1):
    d, width, inner, n1, eta1 = 3, 4, 5, 7, 0.7
    net = init_one_step(d, width, inner, generator=gen(2), sigma1=sigma1, sigma1_degree=2)
    data = make_dataset(_Cubic(), n1, d=d, generator=gen(3))
    # autograd on the network written out by hand, at W = 0
    W0 = torch.zeros(width, inner, dtype=torch.float64, requires_grad=True)
    h_train = net.sigma1(data.x @ net.V.T) / math.sqrt(inner)
    f = torch.relu(h_train @ W0.T + net.b) @ (net.signs / width)
    (0.5 * (f - data.y).square().mean()).backward()
    W_autograd = -eta1 * width * W0.grad

    take_one_step(net, data, eta1=eta1)
    scale = float(W_autograd.abs().max())
    assert torch.allclose(net.W, W_autograd, rtol=0, atol=32 * EPS * scale)  # sums of n1·inner terms, rounding only

    # pre-activation = η1·a_i·K̂h(x), K̂h from the explicit n×n kernel K(x, x') = σ1(Vx)·σ1(Vx')/inner
    x = sample_inputs(9, d, generator=gen(4))
    kernel = net.sigma1(x @ net.V.T) @ net.sigma1(data.x @ net.V.T).T / inner
    smoothed = kernel @ data.y / n1
    expected = eta1 * torch.outer(smoothed, net.signs)
    assert torch.allclose(net.step_preactivation(x), expected, rtol=0, atol=64 * EPS * float(expected.abs().max()))
    assert torch.allclose(x.new_tensor(0) + net.feature(x), smoothed, rtol=0, atol=64 * EPS * float(smoothed.abs().max()))


def test_label_mean_start_smooths_the_centred_labels():
    d, n1 = 3, 11
    net = init_one_step(d, 4, 6, generator=gen(5))
    data = make_dataset(_Cubic(), n1, d=d, generator=gen(6))
    info = take_one_step(net, data, eta1=1.0, initial_output="label-mean")
    assert info["f0"] == pytest.approx(float(data.y.mean()), abs=4 * EPS)
    x = sample_inputs(5, d, generator=gen(7))
    kernel = net.sigma1(x @ net.V.T) @ net.sigma1(data.x @ net.V.T).T / net.inner_width
    centred = kernel @ (data.y - data.y.mean()) / n1
    assert torch.allclose(net.feature(x), centred, rtol=0, atol=64 * EPS * float(centred.abs().max()))


def test_on_the_sphere_the_learned_feature_finds_p():
    # NDL's setting (inputs uniform on the sphere of radius √d); K̂h does not depend on η1 or ξ.
    d = 8
    target = _k2_target(d)
    net, _ = train_one_step(target, d=d, n1=20_000, n2=64, width=8, inner_width=512, eta1=1.0, ridge=1e-3,
                            generator=gen(8), sigma1="hermite", input_law="sphere")
    x = sample_inputs(4096, d, generator=gen(9), law="sphere")
    corr = correlation(net.feature(x), torch.as_tensor(target.feature.evaluate(x)))
    # measured 0.96-0.97 at this size; below 0.5 the feature would not be p's
    assert corr > 0.8, corr


def test_on_gaussian_inputs_the_radial_direction_dominates():
    # Module docstring: for σ1 = h_2 and Gaussian x, K h ∝ 2·p + (d + 2)(|x|² − d)/d here (P_2 h =
    # p + (|x|² − d)/L with L = d, tr A = 0), so corr(Kh, p) = 2/√(4 + 2(d+2)²/d) = 0.371 at d = 8.
    d = 8
    target = _k2_target(d)
    net, _ = train_one_step(target, d=d, n1=20_000, n2=64, width=8, inner_width=512, eta1=1.0, ridge=1e-3,
                            generator=gen(10), sigma1="hermite")
    x = sample_inputs(4096, d, generator=gen(11))
    learned = net.feature(x)
    corr_p = correlation(learned, torch.as_tensor(target.feature.evaluate(x)))
    corr_radial = correlation(learned, x.square().sum(1) - d)
    population = 2 / math.sqrt(4 + 2 * (d + 2) ** 2 / d)
    assert abs(corr_p - population) < 0.1, (corr_p, population)  # sampling, width and test-set noise
    assert corr_radial > 0.85 > corr_p, (corr_radial, corr_p)


def test_grid_search_is_deterministic_and_returns_the_train_one_step_model():
    d = 4
    target = _k2_target(d)
    options = dict(d=d, n1=500, n2=200, width=16, inner_width=32, sigma1="hermite", input_law="sphere")
    net, info = select_one_step_hyperparameters(target, generator=gen(12), n_validation=512,
                                                eta1_multiples=(0.5, 1.0, 2.0), ridge_grid=(1e-4, 1e-2), **options)
    again, info_again = select_one_step_hyperparameters(target, generator=gen(12), n_validation=512,
                                                        eta1_multiples=(0.5, 1.0, 2.0), ridge_grid=(1e-4, 1e-2), **options)
    assert len(info["grid"]) == 6
    best = min(info["grid"], key=lambda row: row["validation_mse"])
    assert (info["eta1"], info["ridge"]) == (best["eta1"], best["ridge"])
    assert info["grid"] == info_again["grid"]
    refit, _ = train_one_step(target, generator=gen(12), eta1=info["eta1"], ridge=info["ridge"], **options)
    x = sample_inputs(100, d, generator=gen(13), law="sphere")
    assert torch.equal(net(x), again(x))
    assert torch.equal(net(x), refit(x))


def test_training_is_deterministic_and_fits_something():
    target = _Cubic()
    options = dict(d=3, n1=400, n2=300, width=32, inner_width=16, eta1=2.0, ridge=1e-4)
    a, info = train_one_step(target, generator=gen(14), **options)
    b, _ = train_one_step(target, generator=gen(14), **options)
    x = sample_inputs(200, 3, generator=gen(15))
    assert torch.equal(a(x), b(x))
    assert info["readout"]["train_mse"] < float(make_dataset(target, 300, d=3, generator=gen(16)).y.var())
    assert isinstance(a, OneStepNet) and a.W.shape == (32, 16)


@pytest.mark.parametrize("call, message", [
    (lambda: init_one_step(3, 5, 4, generator=gen(0)), "even"),
    (lambda: init_one_step(3, 4, 4, generator=gen(0), initial_bias=0.0), "initial_bias"),
    (lambda: init_one_step(3, 4, 4, generator=gen(0), sigma1="hermite"), "degree"),
    (lambda: init_one_step(3, 4, 4, generator=0), "torch.Generator"),
    (lambda: init_one_step(3, 4, 4, generator=gen(0))(torch.zeros(2, 5, dtype=torch.float64)), "d=3"),
    (lambda: train_one_step(_Cubic(), d=3, n1=10, n2=10, width=4, eta1=-1.0, ridge=0.1, generator=gen(0)), "η1"),
    (lambda: train_one_step(_Cubic(), d=3, n1=10, n2=10, width=4, eta1=1.0, ridge=0.1, generator=gen(0),
                            initial_output="one"), "initial_output"),
    (lambda: select_one_step_hyperparameters(_Cubic(), d=3, n1=10, n2=10, width=4, generator=gen(0),
                                             ridge_grid=(0.0, 1.0)), "ridge > 0"),
    (lambda: select_one_step_hyperparameters(_Cubic(), d=3, n1=10, n2=10, width=4, generator=gen(0),
                                             eta1_grid=()), "non-empty"),
])
def test_bad_input_is_named(call, message):
    with pytest.raises((ModelInputError, TypeError), match=message):
        call()


def test_the_step_is_taken_once_and_on_the_right_dimension():
    net = init_one_step(3, 4, 4, generator=gen(0))
    data = make_dataset(_Cubic(), 10, d=3, generator=gen(1))
    with pytest.raises(ModelInputError, match="R\\^4"):
        take_one_step(net, make_dataset(_Cubic(), 10, d=4, generator=gen(1)), eta1=1.0)
    take_one_step(net, data, eta1=1.0)
    with pytest.raises(ModelInputError, match="W = 0"):
        take_one_step(net, data, eta1=1.0)
    resample_biases(net, generator=gen(2))
    fit_readout(net, data, 1e-3)
    assert torch.isfinite(net(data.x)).all()
