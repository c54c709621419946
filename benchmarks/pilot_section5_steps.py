"""Pilot that sized the full tier's Figure 2 training length (checks/tiers.py, section5 max_steps and
batch_size), recorded as a pilot, not a check: corr(ĝ, p)/ρ(d) against Adam steps for one joint run
of the §5 network at the full tier's settings (m1 = d², m2 = 1000, μP, lr 1e-2, float32, CPU).

    python benchmarks/pilot_section5_steps.py D N_OVER_D3 BATCH SEED STEPS [--out results/pilots]

BATCH is a mini-batch size or ``full``. Every 100 steps it prints and stores (JSON, rewritten as it
goes) the step, |corr(ĝ, p)|/ρ(d) on 16384 fixed test points, the training loss, the test loss and
the seconds. Base seed 20240101 (the §5 target's signs); the run's generator is derived from it.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

from checks.seeds import derive_seed  # noqa: E402
from checks.specs import build_target, section5_spec  # noqa: E402
from model.data import make_dataset, sample_inputs  # noqa: E402
from model.joint import MiniBatchOrder, mup_param_groups  # noqa: E402
from model.metrics import correlation, evaluate_on  # noqa: E402
from model.network import init_three_layer  # noqa: E402

BASE_SEED = 20240101


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("d", type=int)
    parser.add_argument("n_over_d3", type=float)
    parser.add_argument("batch", help="mini-batch size, or 'full'")
    parser.add_argument("seed", type=int)
    parser.add_argument("steps", type=int)
    parser.add_argument("--out", type=Path, default=Path("results/pilots"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    d, batch = args.d, None if args.batch == "full" else int(args.batch)
    target = build_target(section5_spec(d, seed=BASE_SEED))
    rho = float(target.stage1_population_corr())
    n = int(round(args.n_over_d3 * d ** 3))
    gen = torch.Generator().manual_seed(derive_seed(BASE_SEED, f"pilot/{d}/{args.seed}"))
    net = init_three_layer(d, d * d, 1000, generator=gen, k=3, output_init="mup", dtype=torch.float32)
    data = make_dataset(target, n, d=d, generator=gen, dtype=torch.float32)
    x_test = sample_inputs(16384, d, generator=torch.Generator().manual_seed(7), dtype=torch.float32)
    p_test, y_test = evaluate_on(target.feature, x_test.double()), evaluate_on(target, x_test.double())
    optimiser = torch.optim.Adam(mup_param_groups(net, 1e-2))
    order = MiniBatchOrder(n, batch, generator=gen, device="cpu") if batch else None
    out = {"d": d, "n": n, "n_over_d3": args.n_over_d3, "batch": batch, "seed": args.seed, "rho": rho,
           "columns": ["step", "corr/rho", "train loss", "test loss", "seconds"], "trace": [],
           "settings": {"m1": d * d, "m2": 1000, "lr": 1e-2, "dtype": "float32", "base_seed": BASE_SEED,
                        "n_test": 16384, "device": "cpu", "torch": torch.__version__}}
    path = args.out / f"section5-steps-d{d}-n{args.n_over_d3:g}d3-b{batch or 'full'}-s{args.seed}.json"
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    for step in range(1, args.steps + 1):
        if order is None:
            xb, yb = data.x, data.y
        else:
            idx = order.next_indices()
            xb, yb = data.x[idx], data.y[idx]
        optimiser.zero_grad()
        loss = ((net(xb) - yb) ** 2).mean()
        loss.backward()
        optimiser.step()
        if step % 100 == 0 or step == 1:
            with torch.no_grad():
                corr = abs(correlation(net.feature(x_test).double(), p_test)) / rho
                test = float(((net(x_test).double() - y_test) ** 2).mean())
                train = float(((net(data.x) - data.y) ** 2).mean())
            out["trace"].append([step, corr, train, test, time.time() - t0])
            print(step, f"corr/rho {corr:.3f} train {train:.4f} test {test:.4f} {time.time() - t0:.0f}s", flush=True)
            path.write_text(json.dumps(out))


if __name__ == "__main__":
    main()
