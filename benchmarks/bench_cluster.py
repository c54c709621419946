"""One real quick-tier sweep in-process and on a Dask LocalCluster: wall time, speedup, the
scheduler's overhead per run, and the full tier's wall time on 1, 8 and 64 workers estimated from
the measured per-run costs.

The sweep is the Theorem 1 k = 2 layerwise sweep of the quick tier (``checks/tiers.py``, area
``theorem1``: every d of ``k2_ds``, every n1 = multiple·C(d+2, 2) of ``multiples``) on the fixed
k = 2 target family of the kernel checks (ψ = h_2, alternating signs, g = −1/2 + z + z²/2), with
``--seeds`` replicates (default 1: the whole (d, n) grid once; the tier runs 6).

- ``inprocess_s`` / ``cluster_s``: the sweep's wall time in-process (one thread) and on a
  LocalCluster of ``--workers`` processes with one thread each, both into empty caches, each
  twice: ``cold`` (a fresh process or cluster: imports, exact target expansions and test sets
  are built first, once per process) and ``warm`` (the same grid with new seeds right after);
- ``speedup``: their ratio; ``efficiency``: speedup / workers;
- ``overhead_per_run_s``: the cluster's cost per run beyond the work: trivial runs (a runner that
  returns at once) through the same sweep machinery (lock, submit, pickle, schedule, return,
  checksummed cache write), wall × workers / runs;
- ``estimate``: the full tier's k = 2 sweep (``full`` sizes) on 1, 8 and 64 workers of this
  machine's kind: per-run seconds from a non-negative least-squares fit of the measured in-process
  runs (relative errors), t = c0 + c1·n·m1² (stage-1 Gram) + c2·m1³ (Cholesky) + c3·(n + n_test)·m1
  (features),
  summed over the full tier's runs, plus the overhead per run, divided by the workers, and never
  below the longest single run. The full tier's m1 reaches 4× the quick tier's largest, so the fit
  extrapolates: read it as an order of magnitude, for CPU workers (a GPU worker is far faster).
  The fit uses the warm in-process runs; each worker's cold start comes on top, once.

    python benchmarks/bench_cluster.py [--workers 2] [--seeds 1] [--out cluster.json]

Outside the default audit: pytest does not collect this folder. On a shared 2-core machine the
figures are noisy (other processes take cores): run it on an idle one for numbers to quote.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np

# The runners and grids of the audit's sweeps (checks/runs.py); the target recipe builder.
from checks.runs import THEOREM1_RUNS, network_runs, replicate_seeds, runner_for
from checks.specs import recipe_spec
from checks.executors import InProcessExecutor, open_executor, parse_executor_spec
from checks.sweep import Run, run_sweep
from checks.tiers import Tier

K2_RECIPE = {"psi": [[[2], "1"]], "psi_name": "h_2", "k": 2, "link": ["-1/2", "1", "1/2"], "signs": "alternating"}
BASE_SEED = 20240101
_RUNNER = runner_for("cpu")
_SECONDS: dict[tuple[int, int, int], float] = {}  # (d, n, seed) -> seconds


def k2_runs(tier: str, seeds: int | None, *, skip_seeds: int = 0) -> list[Run]:
    """The Theorem 1 k = 2 layerwise sweep of ``tier`` with ``seeds`` replicates (default the
    tier's), from replicate number ``skip_seeds`` on."""
    sizes = Tier(tier).sizes("theorem1")
    specs = {d: recipe_spec(K2_RECIPE, d) for d in sizes["k2_ds"]}
    count = seeds or sizes["seeds"]
    seed_list = replicate_seeds(BASE_SEED, skip_seeds + count, family="theorem1")[skip_seeds:]
    return network_runs(specs, multiples=sizes["multiples"], seeds=seed_list, sizes=sizes)


def timed_runner(run: Run) -> dict:
    """The audit's runner, timing each run (in-process only)."""
    start = time.perf_counter()
    result = _RUNNER(run)
    _SECONDS[run.d, run.n, run.seed] = time.perf_counter() - start
    return result


def trivial_runner(run: Run) -> dict:
    return {"n": run.n}


def _sweep(runner, runs, executor) -> float:
    with tempfile.TemporaryDirectory(prefix="hierpoly-bench-cluster-") as cache:
        start = time.perf_counter()
        run_sweep(runner, runs, cache_dir=cache, code_version=THEOREM1_RUNS, progress=True, executor=executor)
        return time.perf_counter() - start


def _features(runs: list[Run]) -> np.ndarray:
    rows = []
    for run in runs:
        m1, n_test = run.config["m1"], run.config["n_test"]
        rows.append([1.0, run.n * m1 ** 2, m1 ** 3, (run.n + n_test) * m1])
    return np.array(rows, dtype=float)


def fit_run_seconds(runs: list[Run], seconds: list[float]) -> np.ndarray:
    """Non-negative coefficients of t = c0 + c1·n·m1² + c2·m1³ + c3·(n + n_test)·m1, fitted on
    relative errors (the runs span two decades of seconds; absolute errors would fit the largest only)."""
    from scipy.optimize import nnls

    t = np.asarray(seconds)
    x = _features(runs) / t[:, None]
    scale = x.max(axis=0)  # columns on one scale for the solver
    coefficients, _ = nnls(x / scale, np.ones_like(t))
    return coefficients / scale


def estimate_wall(runs: list[Run], coefficients: np.ndarray, overhead_s: float, workers: int) -> float:
    per_run = _features(runs) @ coefficients
    return max(float(per_run.max()), float((per_run.sum() + overhead_s * len(runs)) / workers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes (one thread each)")
    parser.add_argument("--seeds", type=int, default=1, help="replicates per (d, n) (the quick tier runs 6)")
    parser.add_argument("--trivial-runs", type=int, default=400, help="runs of the overhead measurement")
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    args = parser.parse_args()

    import torch
    from threadpoolctl import threadpool_limits

    cold_runs, warm_runs = k2_runs("quick", args.seeds), k2_runs("quick", args.seeds, skip_seeds=args.seeds)
    print(f"quick-tier Theorem 1 k=2 layerwise sweep: {len(cold_runs)} runs (twice), {args.workers} workers",
          flush=True)
    torch.set_num_threads(1)  # the in-process baseline is one worker slot, as each cluster worker is
    with threadpool_limits(1):
        inprocess = {"cold": _sweep(timed_runner, cold_runs, InProcessExecutor()),
                     "warm": _sweep(timed_runner, warm_runs, InProcessExecutor())}
    executor, close = open_executor(parse_executor_spec(f"dask-local:{args.workers}"))
    try:
        cluster = {"cold": _sweep(_RUNNER, cold_runs, executor), "warm": _sweep(_RUNNER, warm_runs, executor)}
        trivial = [Run("trivial", 1, n, 0) for n in range(1, args.trivial_runs + 1)]
        overhead_s = _sweep(trivial_runner, trivial, executor) * args.workers / len(trivial)
    finally:
        close()

    seconds = [_SECONDS[run.d, run.n, run.seed] for run in warm_runs]
    coefficients = fit_run_seconds(warm_runs, seconds)
    full = k2_runs("full", None)
    figures = {
        "runs": len(cold_runs), "workers": args.workers,
        **{f"{phase}": {"inprocess_s": round(inprocess[phase], 2), "cluster_s": round(cluster[phase], 2),
                        "speedup": round(inprocess[phase] / cluster[phase], 2),
                        "efficiency": round(inprocess[phase] / cluster[phase] / args.workers, 2)}
           for phase in ("cold", "warm")},
        "overhead_per_run_s": round(overhead_s, 4),
        "warm_run_seconds": {"median": round(float(np.median(seconds)), 3), "max": round(max(seconds), 3),
                             "sum": round(sum(seconds), 1)},
        "fit_relative_rms": round(float(np.sqrt(np.mean((_features(warm_runs) @ coefficients / seconds - 1) ** 2))), 3),
        "fit_coefficients": [float(f"{c:.3g}") for c in coefficients],
        "estimate": {"tier": "full", "runs": len(full),
                     **{f"{w}_workers_s": round(estimate_wall(full, coefficients, overhead_s, w)) for w in (1, 8, 64)}},
    }
    print(json.dumps(figures, indent=2))
    figures["warm_runs"] = [{"d": run.d, "n": run.n, "m1": run.config["m1"], "seconds": round(t, 4)}
                            for run, t in zip(warm_runs, seconds)]
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(figures, fh, indent=2)


if __name__ == "__main__":
    main()
