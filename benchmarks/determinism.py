"""Determinism of the audit: the same base seed gives the same verdicts, the same measured
values and the same figure data under ``-n 0``, ``-n 2`` and ``-n auto``, and in reversed test
order.

    python benchmarks/determinism.py                # the whole audit, four times
    python benchmarks/determinism.py -k lemma2      # a subset

Each run gets its own cache directory (a shared cache would make later runs read the first run's
results and agree trivially). Verdicts must agree exactly. Measured floats and the numbers
behind each figure must agree within
``--rtol`` (default 1e-6): xdist workers run one BLAS thread and ``-n 0`` runs several, which
changes the summation order of float64 reductions (relative error ~1e-16 per operation),
amplified by the condition of the least-squares solves (Gram condition numbers up to ~1e8 at the
quick sizes, with a relative ridge); 1e-6 leaves two orders of margin over 1e-16·1e8.
Outside the default audit: it is not collected by pytest.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REVERSE_PLUGIN = "def pytest_collection_modifyitems(items):\n    items.reverse()\n"
MODES = {"-n 0": ["-n", "0"], "-n 2": ["-n", "2"], "-n auto": ["-n", "auto"], "reversed": ["-n", "0", "-p", "reverse_order"]}


def run(mode: str, args: list[str], work: Path, seed: int, selection: list[str]) -> dict:
    out = work / mode.replace(" ", "")
    env_path = work / "plugins"
    env_path.mkdir(exist_ok=True)
    (env_path / "reverse_order.py").write_text(REVERSE_PLUGIN)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, "--seed", str(seed),
           "--report-dir", str(out), "--cache-dir", str(out / "cache"), *selection]
    env = {**os.environ, "PYTHONPATH": str(env_path)}
    subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return json.loads((out / "audit.json").read_text())


def flatten(value, prefix=""):
    if isinstance(value, dict):
        for k, v in value.items():
            yield from flatten(v, f"{prefix}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from flatten(v, f"{prefix}[{i}]")
    else:
        yield prefix, value


def compare(a: dict, b: dict, rtol: float) -> list[str]:
    problems = []
    ev = lambda rep: {(e["check"], e["claim_id"], i): e for c in rep["claims"] for i, e in enumerate(c["evidence"])}
    ea, eb = ev(a), ev(b)
    if set(ea) != set(eb):
        problems.append(f"different evidence records: {sorted(set(ea) ^ set(eb))[:5]}")
    for key in sorted(set(ea) & set(eb)):
        x, y = ea[key], eb[key]
        if x["verdict"] != y["verdict"]:
            problems.append(f"{key[0]}: verdict {x['verdict']} != {y['verdict']}")
        # measured values and the data behind every figure
        fx = dict(flatten({"measured": x["measured"], "figures": x["figures"]}))
        fy = dict(flatten({"measured": y["measured"], "figures": y["figures"]}))
        if fx.keys() != fy.keys():
            problems.append(f"{key[0]}: different measured/figure fields: {sorted(fx.keys() ^ fy.keys())[:5]}")
        for name in fx.keys() & fy.keys():
            u, v = fx[name], fy[name]
            if isinstance(u, float) and isinstance(v, float) and math.isfinite(u) and math.isfinite(v):
                if not math.isclose(u, v, rel_tol=rtol, abs_tol=rtol * 1e-6):
                    problems.append(f"{key[0]}: {name} {u!r} != {v!r}")
            elif u != v:
                problems.append(f"{key[0]}: {name} {u!r} != {v!r}")
    return problems


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-k", default=None, help="pytest -k expression (default: the whole audit)")
    ap.add_argument("--seed", type=int, default=20240101)
    ap.add_argument("--rtol", type=float, default=1e-6)
    args = ap.parse_args(argv)
    selection = ["-k", args.k] if args.k else []
    with tempfile.TemporaryDirectory(prefix="hierpoly-det-") as tmp:
        reports = {mode: run(mode, flags, Path(tmp), args.seed, selection) for mode, flags in MODES.items()}
    base = reports["-n 0"]
    failures = 0
    for mode, rep in reports.items():
        problems = compare(base, rep, args.rtol) if mode != "-n 0" else []
        failures += bool(problems)
        print(f"{mode:9s} vs -n 0: {'identical verdicts and values' if not problems else f'{len(problems)} differences'}")
        for p in problems[:20]:
            print("   ", p)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
