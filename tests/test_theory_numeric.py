"""theory.numeric against two oracles: the exact algebra (sympy) and Gauss-Hermite quadrature
(numpy.polynomial.hermite_e, an independent implementation). Tolerances are float64 epsilon
times a condition estimate (the sum of absolute values of the terms that are added)."""
from __future__ import annotations

from math import factorial

import numpy as np
import pytest
import sympy
import torch
from hypothesis import given, settings
from numpy.polynomial import hermite_e

from checks.strategies import polynomials
from theory import NegativeDegreeError, expand
from theory.hermite import he_coefficients
from theory.numeric import (
    NumericExpansion,
    compile_expansion,
    evaluate,
    h_numeric,
    h_table,
    he_numeric,
    he_series,
    he_table,
)

EPS = np.finfo(np.float64).eps
GRID = np.concatenate([np.linspace(-10, 10, 201), [-1e-3, 0.0, 1e-3]])


def he_condition(n: int, x: np.ndarray) -> np.ndarray:
    """Σ_i |c_i| |x|^i for He_n: the size of the terms a float evaluation of He_n adds up."""
    return sum(abs(c) * np.abs(x) ** i for i, c in enumerate(he_coefficients(n)))


@pytest.mark.parametrize("n", [0, 1, 2, 5, 9, 15, 22, 30])
def test_he_numeric_against_hermeval(n):
    ours = he_numeric(n, GRID)
    reference = hermite_e.hermeval(GRID, [0] * n + [1])
    tol = 4 * (n + 1) * EPS * he_condition(n, GRID)  # n recurrence steps, each a few roundings
    assert np.all(np.abs(ours - reference) <= tol)
    scale = np.sqrt(float(factorial(n)))
    assert np.all(np.abs(h_numeric(n, GRID) * scale - reference) <= tol + 4 * EPS * np.abs(reference))


def test_orthonormality_at_gauss_nodes():
    D = 20
    nodes, weights = hermite_e.hermegauss(D + 1)  # exact for degree <= 2D + 1
    weights = weights / np.sqrt(2 * np.pi)
    table = h_table(D, nodes)                    # (nodes, D + 1)
    gram = table.T @ (weights[:, None] * table)
    bound = (np.abs(table).T @ (weights[:, None] * np.abs(table)))  # condition of each entry
    assert np.all(np.abs(gram - np.eye(D + 1)) <= 8 * (D + 1) * EPS * bound)


def test_torch_matches_numpy_and_keeps_device():
    x = np.linspace(-4, 4, 33)
    for fn in (he_table, h_table):
        np_out = fn(7, x)
        t_out = fn(7, torch.tensor(x, dtype=torch.float32))  # promoted to float64
        assert t_out.dtype == torch.float64
        assert np.allclose(t_out.numpy(), fn(7, x.astype(np.float32).astype(np.float64)), rtol=0, atol=1e-12)
        assert np_out.shape == (33, 8)
    assert np.allclose(he_series([1, 0, 2], x), 1 + 2 * (x**2 - 1))
    assert torch.allclose(he_series([1, 0, 2], torch.tensor(x)), torch.tensor(1 + 2 * (x**2 - 1)))


def _exact_value(f, xs, point) -> sympy.Rational:
    return sympy.Rational(f.subs(dict(zip(xs, point))))


def _term_condition(expansion, X: np.ndarray) -> np.ndarray:
    """Σ_α |b_α| |h_α(x)| per row: the size of the terms ``evaluate`` adds."""
    compiled = compile_expansion(expansion)
    table = np.abs(h_table(max(compiled.max_coordinate_degree, 0), X))
    rows = np.ones((X.shape[0], compiled.alphas.shape[0]))
    for i in range(compiled.d):
        rows *= table[:, i, compiled.alphas[:, i]]
    return rows @ np.abs(compiled.h_coefficients)


@settings(max_examples=25)
@given(polynomials(max_vars=3, max_degree=4))
def test_evaluate_against_exact_values(drawn):
    f, xs, k = drawn
    e = expand(f, xs)
    # dyadic points are exact in float64, so the exact value is the exact value at X
    X = np.array([[(-1) ** (i + j) * (i + 2 * j + 1) / 8 for j in range(len(xs))] for i in range(6)])
    exact = np.array([float(_exact_value(f, xs, [sympy.Rational(v) for v in row])) for row in X])
    ours = evaluate(e, X)
    tol = 8 * (len(e) + k + 2) * EPS * (_term_condition(e, X) + np.abs(exact))
    assert np.all(np.abs(ours - exact) <= tol)
    torch_out = evaluate(e, torch.tensor(X))
    assert isinstance(torch_out, torch.Tensor) and torch_out.dtype == torch.float64
    assert np.all(np.abs(torch_out.numpy() - exact) <= tol)


def _tensor_quadrature(d: int, n_nodes: int):
    nodes, weights = hermite_e.hermegauss(n_nodes)
    weights = weights / np.sqrt(2 * np.pi)
    grids = np.meshgrid(*([nodes] * d), indexing="ij")
    wgrid = np.prod(np.meshgrid(*([weights] * d), indexing="ij"), axis=0)
    return np.stack([g.ravel() for g in grids], axis=1), wgrid.ravel()


@settings(max_examples=20)
@given(polynomials(max_vars=3, max_degree=4))
def test_quadrature_oracle_for_mean_and_norm(drawn):
    f, xs, k = drawn
    e = expand(f, xs)
    points, weights = _tensor_quadrature(len(xs), k + 1)  # exact for degree <= 2k + 1 >= deg f^2
    values = evaluate(e, points)
    size = _term_condition(e, points)
    mean_tol = 8 * (len(e) + k + 2) * EPS * float(weights @ size)
    norm_tol = 2 * mean_tol * float(np.sqrt(weights @ size**2)) + 8 * EPS * float(weights @ size**2)
    assert abs(float(weights @ values) - float(e.mean())) <= mean_tol
    assert abs(float(weights @ values**2) - float(e.norm2())) <= norm_tol


def test_blocking_does_not_change_values(rng):
    xs = sympy.symbols("x1:4")
    f = sum(sympy.Rational(int(rng.integers(-5, 6)), 3) * xs[i] ** a * xs[j] ** b
            for i in range(3) for j in range(3) for a in range(3) for b in range(2))
    e = expand(sympy.expand(f) + 2, xs)
    X = rng.normal(size=(50, 3))
    full = evaluate(e, X)
    assert np.array_equal(compile_expansion(e)(X), full)
    blocked = evaluate(e, X, work_entries=7)  # one term per block
    assert np.allclose(blocked, full, rtol=0, atol=64 * EPS * float(np.max(_term_condition(e, X))))


def test_compiled_expansion_and_errors():
    x, y = sympy.symbols("x y")
    compiled = compile_expansion(expand(x * y + 3, (x, y)))
    assert isinstance(compiled, NumericExpansion) and compiled.d == 2
    assert np.allclose(compiled(np.array([[1.0, 2.0]])), [5.0])
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        evaluate(compiled, np.zeros((3, 3)))
    with pytest.raises(ValueError):
        evaluate(compiled, np.zeros(3))
    with pytest.raises(NegativeDegreeError):
        he_numeric(-1, np.zeros(2))
    with pytest.raises(TypeError):
        h_table(2.5, np.zeros(2))
    constant = expand(sympy.Integer(7), (x,))
    assert np.array_equal(evaluate(constant, np.zeros((4, 1))), np.full(4, 7.0))


@pytest.mark.gpu
def test_evaluate_on_cuda_matches_cpu():
    xs = sympy.symbols("x1:4")
    e = expand(sympy.expand((xs[0] + xs[1] * xs[2] - 1) ** 3), xs)
    X = torch.randn(257, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    on_gpu = evaluate(e, X.to("cuda"))
    assert on_gpu.device.type == "cuda" and on_gpu.dtype == torch.float64
    cpu = evaluate(e, X)
    tol = 16 * len(e) * EPS * torch.as_tensor(_term_condition(e, X.numpy()))
    assert torch.all((on_gpu.cpu() - cpu).abs() <= tol)
