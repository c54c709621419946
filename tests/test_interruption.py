"""The whole audit (pytest with the plugin) killed with SIGKILL in the middle of a sweep loses no
finished run on the rerun, recomputes none, and never reads a partial file as a result.
(The sweep engine's own resume, corruption and invalidation tests are in test_sweep.py.)"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path


SWEEP_CHECK = '''
import os, time
from checks.audit import claim_check
from checks.evidence import Verdict
from checks.sweep import Run, run_sweep

LOG = os.environ["HIERPOLY_TEST_LOG"]

def slow_runner(run):
    with open(LOG, "a") as fh:
        fh.write(f"start {run.n}\\n")
    time.sleep(float(os.environ.get("HIERPOLY_TEST_SLEEP", "0")))
    with open(LOG, "a") as fh:
        fh.write(f"done {run.n}\\n")
    return {"loss": 1.0 / run.n}

@claim_check("conjecture.joint-training")
def test_sweep(audit, cache_dir):
    runs = [Run(method="demo", d=2, n=n, seed=0) for n in range(1, 9)]
    results = run_sweep(slow_runner, runs, cache_dir=cache_dir, code_version="t1", progress=False)
    assert [r["loss"] for r in results.rows()] == [1.0 / n for n in range(1, 9)]
    audit.record(verdict=Verdict.SUPPORTED, rule="demo", key_figure=str(results.counts()))
'''


def _pytest_cmd(tmp: Path) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "checks.plugin", "-p", "no:cacheprovider",
            "-o", "python_files=check_*.py", "--cache-dir", str(tmp / "cache"),
            "--report-dir", str(tmp / "report"), str(tmp / "check_sweep.py")]


def _stored_runs(cache: Path) -> set[int]:
    return {json.loads(f.read_text())["run"]["n"] for f in (cache / "sweep-runs").rglob("*.json")}


def _log(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def test_sigkill_mid_sweep_then_rerun_loses_and_recomputes_nothing(tmp_path: Path):
    (tmp_path / "check_sweep.py").write_text(SWEEP_CHECK)
    log = tmp_path / "runs.log"
    env = {**os.environ, "HIERPOLY_TEST_LOG": str(log), "HIERPOLY_TEST_SLEEP": "0.4"}
    proc = subprocess.Popen(_pytest_cmd(tmp_path), cwd=tmp_path, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _log(log).count("done") < 3:  # wait until a few runs have finished
        assert proc.poll() is None, "the sweep ended before it could be interrupted"
        assert time.monotonic() < deadline, "the sweep made no progress"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    # Finished means stored: the runner may have returned just before the kill, unstored.
    finished_before = _stored_runs(tmp_path / "cache")
    assert 2 <= len(finished_before) < 8

    # A partial file of an interrupted write lies beside the finished ones; it must be ignored.
    run_dir = next((tmp_path / "cache" / "sweep-runs").iterdir())
    (run_dir / ".partial-write.tmp").write_text('{"schema": "hierpoly-sweep-run/1", "res')

    log.unlink()
    env["HIERPOLY_TEST_SLEEP"] = "0"
    rerun = subprocess.run(_pytest_cmd(tmp_path), cwd=tmp_path, env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    second = _log(log)
    recomputed = {int(n) for tag, n in zip(second[::2], second[1::2]) if tag == "done"}
    assert recomputed.isdisjoint(finished_before), "a finished run was recomputed"
    assert recomputed | finished_before == set(range(1, 9)), "a run was lost"
    report = json.loads((tmp_path / "report" / "audit.json").read_text())
    (claim,) = [c for c in report["claims"] if c["id"] == "conjecture.joint-training"]
    assert f"'cache': {len(finished_before)}" in claim["evidence"][0]["key_figure"]
