"""Batched joint training (``model.batched.train_joint_batch``) against the per-run loop
(``model.joint.train_joint`` once per seed), at the §5 sizes: σ1 = z³, μP, m1 = d², full batch,
13 seeds, n = n_multiple·d³.

Both paths run a fixed number of Adam steps (the stopping rule cannot stop early: patience larger
than the evaluations), so the work is the same. Reported per path: seconds, runs·steps per second,
and the share of peak FLOP/s reached, counting the first layer's matmuls only: 2·n·d·m1 for the
forward pass and 2·n·d·m1 for the backward one (∂V = ∂Zᵀx; x needs no gradient), 4·n·d·m1 per run
and step. The peak is measured, not assumed: the best FLOP/s of a large square matmul of the same
dtype on the same device (``peak_flops``). Then the batched path's speedup over the loop.

    python benchmarks/bench_batched.py                          # CPU, d = 8, m2 = 100
    python benchmarks/bench_batched.py --device cuda --d 16 --m2 1000 --n-multiple 4

On a shared 2-core machine the timings are noisy: every figure is the best of ``--repeats``.
Outside the default audit: pytest does not collect this folder.
"""
from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import torch

from model.batched import train_joint_batch
from model.joint import StoppingRule, train_joint
from theory.features import section5_target


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def peak_flops(device: torch.device, dtype: torch.dtype, size: int = 2048, repeats: int = 5) -> float:
    """The best FLOP/s of a (size × size) @ (size × size) matmul (2·size³ FLOPs) on ``device``."""
    gen = torch.Generator(device=device.type).manual_seed(0)
    a = torch.randn(size, size, generator=gen, device=device, dtype=dtype)
    b = torch.randn(size, size, generator=gen, device=device, dtype=dtype)
    best = math.inf
    for _ in range(repeats):
        _sync(device)
        t0 = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - t0)
    return 2 * size ** 3 / best


def _generators(seeds, device):
    return [torch.Generator(device=device.type).manual_seed(s) for s in seeds]


def measure(*, d: int, m2: int, n_multiple: float, seeds: int, steps: int, device: torch.device,
            dtype: torch.dtype, repeats: int) -> dict:
    target = section5_target(d, rng=np.random.default_rng(0))
    n, m1 = max(2, round(n_multiple * d ** 3)), d * d
    rule = StoppingRule(max_steps=steps, eval_every=max(1, steps // 4), patience=10 ** 6)
    options = dict(d=d, m1=m1, m2=m2, lr=1e-2, stopping=rule, device=device, dtype=dtype)
    seed_list = list(range(seeds))

    def batched():
        train_joint_batch(target, ns=[n] * seeds, generators=_generators(seed_list, device), **options)

    def loop():
        for gen in _generators(seed_list, device):
            train_joint(target, n=n, generator=gen, sigma1="monomial", **options)

    timings = {}
    for name, fn in (("batched", batched), ("loop", loop)):
        best = math.inf
        for _ in range(repeats):
            _sync(device)
            t0 = time.perf_counter()
            fn()
            _sync(device)
            best = min(best, time.perf_counter() - t0)
        timings[name] = best
    peak = peak_flops(device, dtype)
    flops = 4 * n * d * m1 * steps * seeds
    out = {"device": str(device), "dtype": str(dtype).removeprefix("torch."), "threads": torch.get_num_threads(),
           "d": d, "n": n, "m1": m1, "m2": m2, "seeds": seeds, "steps": steps, "peak_flops": peak}
    for name, seconds in timings.items():
        out[name] = {"seconds": seconds, "runs_steps_per_s": seeds * steps / seconds,
                     "share_of_peak": flops / seconds / peak}
    out["speedup"] = timings["loop"] / timings["batched"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--d", type=int, default=8)
    parser.add_argument("--m2", type=int, default=100, help="ReLU width (the paper: 1000)")
    parser.add_argument("--n-multiple", type=float, default=1.0, help="n in units of d³")
    parser.add_argument("--seeds", type=int, default=13)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    result = measure(d=args.d, m2=args.m2, n_multiple=args.n_multiple, seeds=args.seeds, steps=args.steps,
                     device=torch.device(args.device), dtype=getattr(torch, args.dtype), repeats=args.repeats)
    print(f"{result['device']} {result['dtype']} threads={result['threads']} d={result['d']} n={result['n']} "
          f"m1={result['m1']} m2={result['m2']} seeds={result['seeds']} steps={result['steps']}; "
          f"peak {result['peak_flops'] / 1e9:.1f} GFLOP/s (matmul)")
    for name in ("batched", "loop"):
        r = result[name]
        print(f"  {name:8s} {r['seconds']:8.2f} s  {r['runs_steps_per_s']:9.1f} runs·steps/s  "
              f"{100 * r['share_of_peak']:6.2f}% of peak")
    print(f"  speedup (loop / batched): {result['speedup']:.2f}×")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
