"""Measure the false-failure rate of the gating statistical checks, two ways.

1. Simulated (``--simulated REPORT``): every gating record that carries an operating
   characteristic (``checks.power``) states the false_failure and power of its rule, simulated at
   the configuration that run used (its seed count, grid and measured per-seed spread). This
   reading lists them from an ``audit.json`` and adds them up per run; it costs nothing.
2. Observed: reruns the statistical checks (those whose evidence declares a ``false_failure_budget``) under
many fresh base seeds and reports, per check, the observed failures k/N with a Clopper–Pearson
interval next to the declared budget. A check whose interval lies wholly above its budget is
over budget: fix it with better statistics, never a looser tolerance.

    python benchmarks/false_failure_rate.py --seeds 100 --max-cost 30 --tier quick -n 2 [-k lemma1]
    python benchmarks/false_failure_rate.py --simulated audit-report/audit.json

The first seed runs every check (to find the statistical ones and time them); later seeds run only
those, and with ``--max-cost S`` only those whose test took under S seconds in the first run.
Each seed uses its own cache directory, so no cached training run is reused across seeds.
Outside the default audit: it is not collected by pytest.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from xml.etree import ElementTree

from scipy import stats

ROOT = Path(__file__).resolve().parents[1]


def run_audit(seed: int, tier: str, workers: str, work: Path, nodeids: list[str],
              select: str | None) -> tuple[dict, dict[str, float]]:
    """One audit under base seed ``seed``: its report and each test's duration (junit XML)."""
    report_dir = work / f"report-{seed}"
    junit = work / f"junit-{seed}.xml"
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", workers,
           "--seed", str(seed), "--tier", tier, "--report-dir", str(report_dir), f"--junitxml={junit}",
           "--cache-dir", str(work / f"cache-{seed}"), *(nodeids or ["checks", *(["-k", select] if select else [])])]
    subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    path = report_dir / "audit.json"
    if not path.exists():
        raise RuntimeError(f"the audit with seed {seed} wrote no report: {' '.join(cmd)}")
    return json.loads(path.read_text()), test_durations(junit)


def test_durations(junit: Path) -> dict[str, float]:
    """node id -> seconds, read from pytest's junit XML (classname a.b.c + name -> a/b/c.py::name)."""
    if not junit.exists():
        return {}
    out = {}
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        module = case.get("classname", "").replace(".", "/") + ".py"
        out[f"{module}::{case.get('name')}"] = float(case.get("time", "0"))
    return out


def simulated_reading(report: dict) -> int:
    """Print the simulated false_failure and power of every gating record that carries them."""
    total = 0.0
    rows = 0
    print(f"{'record':70s} false_failure  power   alternative")
    for claim in report["claims"]:
        for ev in claim["evidence"]:
            op = ev.get("operating")
            gating = claim["kind"] == "claim" or ev.get("predicts_break")
            if not op or not gating:
                continue
            rows += 1
            total += float(op["false_failure"])
            flag = "  UNDERPOWERED" if op.get("underpowered") else ""
            print(f"{ev['check'][:70]:70s} {op['false_failure']:<13.3g}  {op['power']:<6.3g}  "
                  f"{op['alternative']}{flag}")
    print(f"{rows} gating records with a simulated operating characteristic; "
          f"sum of simulated false_failure per run (union bound): {total:.4g} (budget 0.01)")
    return 0


def gating_records(report: dict) -> dict[str, tuple[float, bool]]:
    """check node id -> (declared budget, whether it failed the run)."""
    out: dict[str, tuple[float, bool]] = {}
    for claim in report["claims"]:
        for ev in claim["evidence"]:
            gating = claim["kind"] == "claim" or ev.get("predicts_break")
            if gating and ev.get("false_failure_budget"):
                budget, failed = out.get(ev["check"], (0.0, False))
                out[ev["check"]] = (budget + ev["false_failure_budget"], failed or ev["verdict"] == "REFUTED")
    return out


def summarise(args, failures: dict[str, int], budgets: dict[str, float], runs: int, red_runs: int) -> list[dict]:
    """Per check k/N with a Clopper–Pearson interval, the declared total and the red-run rate; written to
    ``args.out`` (atomically) and returned."""
    rows = []
    for check in sorted(budgets):
        k = failures[check]
        ci = stats.binomtest(k, runs).proportion_ci(confidence_level=0.95, method="exact")
        rows.append({"check": check, "budget": budgets[check], "failures": k, "runs": runs,
                     "ci95": [ci.low, ci.high], "over_budget": ci.low > budgets[check]})
    total = sum(budgets.values())
    red_ci = stats.binomtest(red_runs, runs).proportion_ci(confidence_level=0.95, method="exact")
    result = {"tier": args.tier, "runs": runs, "first_seed": args.first_seed, "declared_total": total,
              "red_runs": red_runs, "red_runs_ci95": [red_ci.low, red_ci.high], "checks": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    tmp.replace(args.out)
    print(f"{runs} runs: declared total per run {total:.4f}; observed red runs {red_runs}/{runs} "
          f"[{red_ci.low:.3f}, {red_ci.high:.3f}]; written to {args.out}", file=sys.stderr)
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=20, help="number of fresh base seeds")
    ap.add_argument("--first-seed", type=int, default=1_000_000)
    ap.add_argument("--tier", default="quick", choices=("quick", "full"))
    ap.add_argument("-n", dest="workers", default="2", help="pytest-xdist workers")
    ap.add_argument("-k", dest="select", default=None, help="pytest -k expression limiting the checks")
    ap.add_argument("--max-cost", type=float, default=None,
                    help="after the first seed, rerun only checks whose test took under this many seconds")
    ap.add_argument("--nodeids", type=Path, default=None, metavar="FILE",
                    help="run exactly these checks (one pytest node id per line) from the first seed on, "
                         "e.g. the gating checks under --max-cost listed from an earlier audit")
    ap.add_argument("--simulated", type=Path, default=None, metavar="AUDIT_JSON",
                    help="only list the simulated false_failure/power recorded in this report, run nothing")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "false_failure.json")
    args = ap.parse_args(argv)
    if args.simulated is not None:
        return simulated_reading(json.loads(args.simulated.read_text()))

    failures: dict[str, int] = {}
    budgets: dict[str, float] = {}
    runs = 0
    red_runs = 0
    with tempfile.TemporaryDirectory(prefix="hierpoly-ffr-") as tmp:
        nodeids: list[str] = (args.nodeids.read_text().split() if args.nodeids is not None else [])
        for i in range(args.seeds):
            seed = args.first_seed + i
            report, durations = run_audit(seed, args.tier, args.workers, Path(tmp), nodeids, args.select)
            records = gating_records(report)
            if not nodeids:
                nodeids = sorted(c for c in records
                                 if args.max_cost is None or durations.get(c, float("inf")) < args.max_cost)
                records = {c: v for c, v in records.items() if c in nodeids}
            runs += 1
            red_runs += any(failed for _, failed in records.values())
            for check, (budget, failed) in records.items():
                budgets[check] = budget
                failures[check] = failures.get(check, 0) + int(failed)
            print(f"seed {seed}: {sum(f for _, f in records.values())} gating failures", file=sys.stderr)
            rows = summarise(args, failures, budgets, runs, red_runs)  # written after every seed: a stop loses nothing

    for r in rows:
        flag = "  OVER BUDGET" if r["over_budget"] else ""
        print(f"{r['check'][:80]:80s} {r['budget']:.4f}  {r['failures']}/{r['runs']}  "
              f"[{r['ci95'][0]:.3f}, {r['ci95'][1]:.3f}]{flag}")
    return 1 if any(r["over_budget"] for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
