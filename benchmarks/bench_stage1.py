"""Stage 1 of Algorithm 1: what the closed form costs, against the product it cannot avoid, and
against gradient descent (docs/paper.md §7: forming ΦᵀΦ dominates; GD on Φ converges slowly).

For each case (k, d, n, m1) with σ1 = h_k features of a Gaussian sample it reports
- ``gram_s``: forming ΦᵀΦ alone (n·m1² multiply-adds, float64), the unavoidable product;
- ``closed_s``: ``model.ridge_solve`` end to end (Gram, ridge, Cholesky, solve), primal side;
- ``closed_over_gram``: their ratio (1 means the closed form is as cheap as it can be);
- ``gd_500_s`` and ``gd_500_gap``: 500 steps of ``model.ridge_gradient_descent`` (step 1/λ_max)
  and the relative distance of its training predictions to the closed form's, ‖Φ(u − u*)‖/‖Φu*‖;
- ``gd_steps_1e-3``: steps until that distance is below 1e-3 (capped at ``--gd-cap``);
- ``f32_min_relative_ridge``: the smallest relative ridge ξ/mean(Φ²) on the grid 1e-8 .. 1e-2 at
  which a raw float32 Cholesky succeeds and its predictions are within 1e-3 of float64's at the
  same ridge.

    python benchmarks/bench_stage1.py [--device cuda] [--threads 1] [--out stage1.json]

Outside the default audit: pytest does not collect this folder.
"""
from __future__ import annotations

import argparse
import json
import math
import time

import torch

from model import init_three_layer, polynomial_space_dim, ridge_gradient_descent, ridge_solve, sample_inputs, theory_widths

RIDGE = 1e-6


def _timed(fn, device: torch.device, repeats: int = 3):
    best, out = math.inf, None
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _features(k: int, d: int, n: int, m1: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator(device=device.type).manual_seed(1000 * k + d)
    model = init_three_layer(d, m1, 1, generator=gen, k=k, device=device)
    x = sample_inputs(n, d, generator=gen, device=device)
    with torch.no_grad():
        phi = model.first_layer(x)
    y = x[:, 0] * x[:, 1] + torch.sin(x[:, 2]) + 0.1 * torch.randn(n, generator=gen, device=device.type,
                                                                     dtype=torch.float64).to(device)
    return phi, y


def _relative_gap(phi: torch.Tensor, u: torch.Tensor, u_star: torch.Tensor) -> float:
    return float((phi @ (u - u_star)).norm() / (phi @ u_star).norm())


def _gd_steps_to(phi, y, u_star, *, tolerance: float, cap: int, chunk: int = 250) -> int:
    weights = torch.nn.Parameter(torch.zeros(phi.shape[1], dtype=phi.dtype, device=phi.device))
    done = 0
    while done < cap:
        ridge_gradient_descent(phi, y, RIDGE, weights=weights, max_steps=chunk, tol=0.0)
        done += chunk
        if _relative_gap(phi, weights.detach(), u_star) <= tolerance:
            return done
    return -1  # not reached within the cap


def _f32_min_relative_ridge(phi: torch.Tensor, y: torch.Tensor) -> float | None:
    """Smallest relative ridge (grid 1e-8 .. 1e-2) where a raw float32 Cholesky of the primal Gram
    succeeds and its predictions are within 1e-3 of float64's at the same ridge (``ridge_solve``'s
    float32 guard is bypassed: this measures what the guard protects against)."""
    n = phi.shape[0]
    p32, y32 = phi.float(), y.float()
    gram32, rhs32 = p32.T @ p32, p32.T @ y32
    scale = float(phi.square().mean())
    for exponent in range(-8, -1):
        relative = 10.0**exponent
        chol, status = torch.linalg.cholesky_ex(gram32 + n * relative * scale * torch.eye(gram32.shape[0], device=phi.device))
        if int(status) != 0:
            continue
        u32 = torch.cholesky_solve(rhs32.unsqueeze(1), chol).squeeze(1)
        u64, _ = ridge_solve(phi, y, relative * scale)
        if bool(torch.isfinite(u32).all()) and _relative_gap(phi, u32.double(), u64) <= 1e-3:
            return relative
    return None


def bench_case(k: int, d: int, n: int, m1: int, device: torch.device, gd_cap: int) -> dict:
    phi, y = _features(k, d, n, m1, device)
    gram_s, _ = _timed(lambda: phi.T @ phi, device)
    closed_s, (u_star, _) = _timed(lambda: ridge_solve(phi, y, RIDGE, solver="primal"), device)
    weights = torch.nn.Parameter(torch.zeros(m1, dtype=phi.dtype, device=device))
    gd_s, _ = _timed(lambda: ridge_gradient_descent(phi, y, RIDGE, weights=weights, max_steps=500, tol=0.0), device,
                     repeats=1)
    return {
        "k": k, "d": d, "D": polynomial_space_dim(d, k), "n": n, "m1": m1, "device": device.type,
        "gram_s": gram_s, "closed_s": closed_s, "closed_over_gram": closed_s / gram_s,
        "gd_500_s": gd_s, "gd_500_gap": _relative_gap(phi, weights.detach(), u_star),
        "gd_steps_1e-3": _gd_steps_to(phi, y, u_star, tolerance=1e-3, cap=gd_cap),
        "f32_min_relative_ridge": _f32_min_relative_ridge(phi, y),
    }


def cases(full: bool) -> list[tuple[int, int, int, int]]:
    out = []
    for k, d, n in ((2, 16, 8192), (3, 8, 8192)) + (((3, 12, 32768),) if full else ()):
        D = polynomial_space_dim(d, k)
        for m1 in sorted({D, 2 * D, 4 * D, theory_widths(d, k, 0.5)[0]}):
            out.append((k, d, n, m1))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--gd-cap", type=int, default=5000)
    parser.add_argument("--full", action="store_true", help="add a larger k = 3 case (GPU)")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    rows = []
    header = f"{'k':>2} {'d':>3} {'D':>5} {'n':>6} {'m1':>5} {'gram s':>8} {'closed s':>9} {'ratio':>6} " \
             f"{'gd500 s':>8} {'gd500 gap':>9} {'gd steps':>8} {'f32 ridge':>9}"
    print(header)
    for k, d, n, m1 in cases(args.full):
        row = bench_case(k, d, n, m1, device, args.gd_cap)
        rows.append(row)
        print(f"{k:>2} {d:>3} {row['D']:>5} {n:>6} {m1:>5} {row['gram_s']:>8.4f} {row['closed_s']:>9.4f} "
              f"{row['closed_over_gram']:>6.2f} {row['gd_500_s']:>8.3f} {row['gd_500_gap']:>9.2e} "
              f"{row['gd_steps_1e-3']:>8} {str(row['f32_min_relative_ridge']):>9}", flush=True)
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"threads": torch.get_num_threads(), "rows": rows}, fh, indent=1)


if __name__ == "__main__":
    main()
