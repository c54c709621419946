"""Algorithm 1 and joint training: closed form against gradient descent, primal against dual,
exact recovery within a computed ridge-bias bound, stage 1 against the Hermite oracle, the
stopping rule, determinism, and the errors (shapes, solver limits, non-finite losses)."""
from __future__ import annotations

import math

import pytest
import torch

from model import (
    Dataset,
    ModelInputError,
    NonFiniteLossError,
    SolverError,
    StoppingRule,
    fit_hermite_oracle,
    fit_layerwise,
    fit_stage1,
    fit_stage2,
    hermite_coordinates,
    hermite_features,
    init_three_layer,
    make_dataset,
    polynomial_space_dim,
    ridge_gradient_descent,
    ridge_solve,
    sample_inputs,
    train_adam,
    train_joint,
    train_layerwise,
)
from model.layerwise import _ridge_objective
from model_targets import EPS, gen, quadratic_target




class _Quadratic:
    """h(x) = x1 x2 + (x3² − 1)/√2 + 0.3 x1: a polynomial of degree 2 (so P_{<=2} h = h)."""

    k = 2

    def evaluate(self, x):
        return x[:, 0] * x[:, 1] + (x[:, 2] ** 2 - 1) / math.sqrt(2) + 0.3 * x[:, 0]


def _features(n=200, d=3, m=10, seed=0):
    x = sample_inputs(n, d, generator=gen(seed))
    model = init_three_layer(d, m, 4, generator=gen(seed + 1), k=2)
    y = _Quadratic().evaluate(x) + 0.1 * torch.randn(n, generator=gen(seed + 2), dtype=torch.float64)
    return model, x, y


def test_primal_and_dual_ridge_agree_and_solve_the_normal_equations():
    model, x, y = _features(n=60, m=10)
    phi = model.first_layer(x).detach()
    ridge = 1e-3
    w_p, info_p = ridge_solve(phi, y, ridge, solver="primal")
    w_d, info_d = ridge_solve(phi, y, ridge, solver="dual")
    assert (info_p["solver"], info_d["solver"]) == ("primal", "dual")
    A = phi.T @ phi / phi.shape[0] + ridge * torch.eye(phi.shape[1], dtype=torch.float64)
    cond = float(torch.linalg.cond(A))
    # Backward-stable Cholesky: relative error <= c·m·eps·cond(A); c·m = 100 generously.
    tol = 100 * EPS * cond * float(w_p.norm())
    assert float((w_p - w_d).norm()) <= tol
    assert float((A @ w_p - phi.T @ y / phi.shape[0]).norm()) <= 100 * EPS * float(A.norm()) * float(w_p.norm()) + 1e-12


def test_auto_solver_takes_the_smaller_side():
    model, x, y = _features(n=20, m=40)
    _, info = ridge_solve(model.first_layer(x).detach(), y, 1e-3)
    assert info["solver"] == "dual"


@pytest.mark.training
def test_gradient_descent_converges_to_the_closed_form():
    model, x, y = _features()
    phi = model.first_layer(x).detach()
    ridge = 1e-2
    closed, _ = ridge_solve(phi, y, ridge)
    weights = torch.nn.Parameter(torch.zeros(phi.shape[1], dtype=torch.float64))
    info = ridge_gradient_descent(phi, y, ridge, weights=weights, max_steps=200_000, tol=1e-10)
    assert info["stopped_because"] == "gradient-tolerance"
    # Strong convexity with modulus mu = 2(λ_min(ΦᵀΦ/n) + ξ): ‖w − w*‖ <= ‖∇f(w)‖ / mu.
    mu = 2 * (float(torch.linalg.eigvalsh(phi.T @ phi / phi.shape[0])[0]) + ridge)
    w = weights.detach().clone().requires_grad_(True)
    _ridge_objective(phi, y, w, ridge).backward()
    bound = float(w.grad.norm()) / mu + 1e3 * EPS * float(closed.norm())
    assert float((weights.detach() - closed).norm()) <= bound


@pytest.mark.training
def test_stage_one_and_two_by_gd_match_the_closed_form():
    target = _Quadratic()
    data1 = make_dataset(target, 300, d=3, generator=gen(1))
    data2 = make_dataset(target, 200, d=3, generator=gen(2))
    fits = {}
    for method in ("closed-form", "gd"):
        model = init_three_layer(3, 10, 6, generator=gen(3), k=2)
        info1 = fit_stage1(model, data1, 1e-1, method=method, gd_max_steps=200_000, gd_tol=1e-11)
        info2 = fit_stage2(model, data2, 1e-1, method=method, gd_max_steps=200_000, gd_tol=1e-11)
        fits[method] = (model.u.detach().clone(), model.c.detach().clone(), info1, info2)
    (u_cf, c_cf, *_), (u_gd, c_gd, i1, i2) = fits["closed-form"], fits["gd"]
    assert i1["stopped_because"] == i2["stopped_because"] == "gradient-tolerance"
    # gradient ratio 1e-11 on problems with condition numbers below 1e5: 1e-5 relative is generous
    torch.testing.assert_close(u_gd, u_cf, rtol=1e-5, atol=1e-8)
    torch.testing.assert_close(c_gd, c_cf, rtol=1e-5, atol=1e-8)


def _ridge_bias_bound(phi: torch.Tensor, y: torch.Tensor, ridge: float, x: torch.Tensor, k: int) -> float:
    """‖ĝ_ridge − ĝ_OLS‖² in L²(N(0, I)) when both lie in the degree-<=k span: the empirical
    squared distance is at most ξ‖w_OLS‖²/4 (the min-norm OLS weights; max_λ λξ²/(λ+ξ)² = ξ/4), and
    the empirical norm dominates λ_min(Ĥ) times the L² norm, Ĥ the empirical Gram of the h_α."""
    w_ols = torch.linalg.pinv(phi) @ y
    H = hermite_features(x, k)
    lam_min = float(torch.linalg.eigvalsh(H.T @ H / H.shape[0])[0])
    return ridge * float(w_ols.square().sum()) / (4 * lam_min)


def test_stage_one_recovers_a_degree_k_target_within_the_ridge_bias_bound():
    target, ridge = _Quadratic(), 1e-6
    data = make_dataset(target, 400, d=3, generator=gen(4))
    model = init_three_layer(3, 25, 3, generator=gen(5), k=2)
    fit_stage1(model, data, ridge)
    phi = model.first_layer(data.x).detach()
    bound = _ridge_bias_bound(phi, data.y, ridge, data.x, 2)
    points = sample_inputs(3 * polynomial_space_dim(3, 2), 3, generator=gen(6))
    error = hermite_coordinates(model.feature(points) - target.evaluate(points), points, degree=2).norm2()
    assert error <= bound + 1e3 * EPS, (error, bound)


def test_stage_one_with_full_span_is_the_hermite_oracle_on_the_same_data():
    target, d, k, ridge = quadratic_target(4), 4, 2, 1e-7
    data = make_dataset(target, 300, d=d, generator=gen(7))
    model = init_three_layer(d, 2 * polynomial_space_dim(d, k), 3, generator=gen(8), k=k)
    fit_stage1(model, data, ridge)
    oracle, info = fit_hermite_oracle(data.x, data.y, k=k)
    assert info["basis_size"] == polynomial_space_dim(d, k)
    phi = model.first_layer(data.x).detach()
    bound = _ridge_bias_bound(phi, data.y, ridge, data.x, k)
    points = sample_inputs(3 * polynomial_space_dim(d, k), d, generator=gen(9))
    gap = hermite_coordinates(model.feature(points) - oracle.predict(points), points, degree=k).norm2()
    assert gap <= bound + 1e3 * EPS, (gap, bound)


def test_stage_two_does_not_increase_its_own_objective():
    # c = 0 is feasible, so the ridge optimum's objective is at most the residual MSE of ĝ alone.
    target, ridge2 = quadratic_target(4), 1e-3
    data1 = make_dataset(target, 300, d=4, generator=gen(10))
    data2 = make_dataset(target, 200, d=4, generator=gen(11))
    model = init_three_layer(4, 40, 30, generator=gen(12), k=2)
    info = fit_layerwise(model, data1, data2, ridge1=1e-6, ridge2=ridge2)
    with torch.no_grad():
        residual_mse = float((model.feature(data2.x) - data2.y).square().mean())
        objective = float((model(data2.x) - data2.y).square().mean()) + ridge2 * float(model.c.square().sum())
    assert objective <= residual_mse * (1 + 1e-12)
    assert info["stage2"]["train_mse"] == pytest.approx(objective - ridge2 * float(model.c.detach().square().sum()))


@pytest.mark.training
def test_layerwise_runs_are_deterministic_and_report_their_sizes():
    options = dict(d=4, n1=120, n2=50, m1=30, m2=20, ridge1=1e-6, ridge2=1e-3)
    a, info = train_layerwise(quadratic_target(4), generator=gen(12), **options)
    b, _ = train_layerwise(quadratic_target(4), generator=gen(12), **options)
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)
    assert (info["n1"], info["m1"], info["k"], info["sigma1"]) == (120, 30, 2, "h_2")
    _, low = train_layerwise(quadratic_target(4), generator=gen(12), sigma1_degree=1, **options)
    assert low["sigma1"] == "h_1"


def test_solver_errors_name_the_problem():
    model, x, y = _features(n=30, m=40)
    phi = model.first_layer(x).detach()
    with pytest.raises(SolverError, match="relative ridge"):
        ridge_solve(phi, y, 1e-9, solve_dtype=torch.float32)
    with pytest.raises(ModelInputError, match="needs n >= m"):
        ridge_solve(phi, y, 0.0)
    with pytest.raises(SolverError, match="Cholesky"):
        # rank(Φ) <= C(3+2, 2) = 10 < 40 columns: singular normal equations without a ridge
        ridge_solve(torch.cat([phi, phi, phi]), torch.cat([y, y, y]), 0.0, solver="primal")
    with pytest.raises(ModelInputError, match="labels must be"):
        ridge_solve(phi, y[:-1], 1e-3)
    with pytest.raises(ModelInputError, match="ridge"):
        ridge_solve(phi, y, -1.0)
    with pytest.raises(ModelInputError, match="unknown solver"):
        ridge_solve(phi, y, 1e-3, solver="qr")


def test_diverging_gradient_descent_stops_with_a_clear_error():
    model, x, y = _features()
    phi = model.first_layer(x).detach()
    weights = torch.nn.Parameter(torch.zeros(phi.shape[1], dtype=torch.float64))
    with pytest.raises(NonFiniteLossError, match="non-finite loss"):
        ridge_gradient_descent(phi, y, 1e-3, weights=weights, max_steps=5000, lr=10.0)


@pytest.mark.training
def test_joint_training_lowers_the_loss_under_the_stated_rule():
    rule = StoppingRule(max_steps=120, eval_every=20, patience=4)
    model, info = train_joint(quadratic_target(3), d=3, n=256, m1=9, m2=20, generator=gen(13), lr=3e-2,
                              stopping=rule, sigma1="monomial")
    first, last = info["history"][0][1], info["final_train_loss"]
    assert last < first and info["stopped_because"] in ("max_steps", "plateau", "target_loss")
    assert "patience" not in info["rule"] and "4 evaluations" in info["rule"]
    again, _ = train_joint(quadratic_target(3), d=3, n=256, m1=9, m2=20, generator=gen(13), lr=3e-2,
                           stopping=rule, sigma1="monomial")
    assert torch.equal(model.V, again.V)


@pytest.mark.training
def test_mini_batches_and_their_errors():
    data = make_dataset(quadratic_target(3), 64, d=3, generator=gen(14))
    model = init_three_layer(3, 9, 5, generator=gen(15), k=2, output_init="mup")
    info = train_adam(model, data, param_groups=[{"params": list(model.parameters()), "lr": 1e-2}],
                      stopping=StoppingRule(max_steps=20, eval_every=5), generator=gen(16), batch_size=16)
    assert info["steps"] == 20 and info["batch_size"] == 16
    with pytest.raises(ModelInputError, match="exceeds"):
        train_adam(model, data, param_groups=[{"params": list(model.parameters()), "lr": 1e-2}],
                   stopping=StoppingRule(max_steps=2), generator=gen(16), batch_size=65)


def test_non_finite_training_loss_stops_training_and_says_so():
    data = make_dataset(quadratic_target(3), 32, d=3, generator=gen(17))
    model = init_three_layer(3, 9, 5, generator=gen(18), k=2, output_init="mup")

    def nan_after_three(prediction, y, calls=[0]):
        calls[0] += 1
        loss = (prediction - y).square().mean()
        return loss * float("nan") if calls[0] > 4 else loss  # call 1: the initial full loss

    with pytest.raises(NonFiniteLossError, match="non-finite loss .* at step 4"):
        train_adam(model, data, param_groups=[{"params": list(model.parameters()), "lr": 1e-2}],
                   stopping=StoppingRule(max_steps=10, eval_every=100), generator=gen(19), loss_fn=nan_after_three)


def test_dataset_shapes_are_checked():
    with pytest.raises(ModelInputError, match="data set needs"):
        Dataset(torch.zeros(4, 2, dtype=torch.float64), torch.zeros(3, dtype=torch.float64))


@pytest.mark.gpu
def test_the_same_code_runs_on_the_gpu_and_matches_the_cpu():
    target = quadratic_target(4)
    data = make_dataset(target, 400, d=4, generator=gen(20))
    cpu = init_three_layer(4, 30, 20, generator=gen(21), k=2)
    gpu = init_three_layer(4, 30, 20, generator=gen(21), k=2).to("cuda")
    for model, where in ((cpu, "cpu"), (gpu, "cuda")):
        moved = Dataset(data.x.to(where), data.y.to(where))
        fit_layerwise(model, moved, moved, ridge1=1e-3, ridge2=1e-3)
    # float64 on both; different BLAS summation orders: relative 1e-8 on a well-posed ridge
    torch.testing.assert_close(gpu.u.detach().cpu(), cpu.u.detach(), rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(gpu(data.x.to("cuda")).cpu(), cpu(data.x), rtol=1e-8, atol=1e-10)
    cuda_gen = torch.Generator(device="cuda").manual_seed(3)
    x = sample_inputs(16, 4, generator=cuda_gen)
    assert x.device.type == "cuda" and init_three_layer(4, 8, 4, generator=cuda_gen, k=2).V.device.type == "cuda"
