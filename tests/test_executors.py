"""Sweeps through real executors: a Dask LocalCluster of 2 worker processes and submitit's local
executor give the results and cache files of the in-process run; two clients with overlapping
sweeps compute no run twice; a worker killed mid-sweep costs only runs in flight; a killed
client loses only its runs in flight. Bad ``--executor`` values are refused by name.

Runs are counted by marker files that the toy runner writes on the worker. About 25-35 s on 2
busy cores (the LocalCluster's start is ~3 s of it).
"""
from __future__ import annotations

import concurrent.futures as cf
import json
import multiprocessing
import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path

import cloudpickle
import numpy as np
import pytest

from checks.executors import (ExecutorSpec, ExecutorSpecError, InProcessExecutor, JobsAsFutures, in_flight_limit,
                              open_executor, parse_executor_spec, use_executor)
from checks.sweep import Run, run_sweep

pytestmark = pytest.mark.slow
VERSION = "executors-test/1"

# The workers cannot import this test module (tests/ is not a package): ship its functions by value.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def _toy_runner(run: Run) -> dict:
    """Leaves a marker per computation, sleeps, and computes from data it draws from the run's seed."""
    (Path(run.config["marks"]) / f"{run.n}-{run.seed}.{uuid.uuid4().hex}").touch()
    time.sleep(run.config["sleep"])
    x = np.random.default_rng(run.seed).standard_normal((run.n, run.d))
    return {"mean": float(x.mean()), "norm2": float(np.square(x).sum()), "inf": float("inf")}


def _toy_batch_runner(runs: list[Run]) -> list[dict]:
    return [_toy_runner(run) for run in runs]


def _runs(marks: Path, ns, *, seeds=(0,), sleep: float = 0.0) -> list[Run]:
    return [Run("toy", 3, n, s, {"marks": str(marks), "sleep": sleep}) for n in ns for s in seeds]


def _computations(marks: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    for path in marks.iterdir():
        run_id = path.name.split(".")[0]
        counts[run_id] = counts.get(run_id, 0) + 1
    return counts


def _cache_files(cache: Path) -> dict[str, bytes]:
    return {str(p.relative_to(cache)): p.read_bytes() for p in (cache / "sweep-runs").rglob("*.json")}


def _stored_ids(cache: Path) -> set[str]:
    return {f"{d['run']['n']}-{d['run']['seed']}" for d in map(json.loads, _cache_files(cache).values())}


@pytest.fixture(scope="module")
def dask_executor():
    executor, close = open_executor(parse_executor_spec("dask-local:2"))
    yield executor
    close()


@pytest.fixture
def marks(tmp_path: Path) -> Path:
    path = tmp_path / "marks"
    path.mkdir()
    return path


def _sweep(runs, cache, executor, **kwargs):
    return run_sweep(_toy_runner, runs, cache_dir=cache, code_version=VERSION, progress=False,
                     executor=executor, **kwargs)


def test_dask_sweep_matches_in_process_results_and_cache_files(tmp_path, marks, dask_executor):
    runs = _runs(marks, [2, 4, 8], seeds=(0, 1, 2))
    local = _sweep(runs, tmp_path / "inprocess", InProcessExecutor())
    assert set(_computations(marks).values()) == {1}
    for path in list(marks.iterdir()):
        path.unlink()
    remote = _sweep(runs, tmp_path / "dask", dask_executor)
    batched = _sweep(runs, tmp_path / "dask-batched", dask_executor, batch_runner=_toy_batch_runner)
    assert remote.counts()["computed"] == batched.counts()["computed"] == len(runs)
    assert set(_computations(marks).values()) == {2}  # once per remote sweep
    assert local.rows() == remote.rows() == batched.rows()
    files = _cache_files(tmp_path / "inprocess")
    assert len(files) == len(runs)
    assert files == _cache_files(tmp_path / "dask") == _cache_files(tmp_path / "dask-batched")
    assert _sweep(runs, tmp_path / "dask", dask_executor).counts()["cache"] == len(runs)
    assert len(list(marks.iterdir())) == 2 * len(runs)  # cached runs are never submitted


def _overlapping_client(address: str, cache: str, marks: str, ns: list[int], out: str) -> None:
    """A second process (a pytest-xdist worker, say) sweeping through the same scheduler and cache."""
    executor, close = open_executor(parse_executor_spec(address))
    try:
        results = _sweep(_runs(Path(marks), ns, sleep=0.3), cache, executor)
        Path(out).write_text(json.dumps(results.rows()))
    finally:
        close()


def test_overlapping_clients_compute_no_run_twice(tmp_path, marks, dask_executor):
    address = "dask://" + dask_executor.hierpoly_address.removeprefix("tcp://")
    plans = {"a": list(range(1, 9)), "b": list(range(12, 4, -1))}  # runs 5..8 in both, met from both ends
    spawn = multiprocessing.get_context("spawn")
    clients = [spawn.Process(target=_overlapping_client,
                             args=(address, str(tmp_path / "cache"), str(marks), ns, str(tmp_path / f"{name}.json")))
               for name, ns in plans.items()]
    for client in clients:
        client.start()
    for client in clients:
        client.join(120)
        assert client.exitcode == 0
    counts = _computations(marks)
    assert sorted(counts) == sorted(f"{n}-0" for n in range(1, 13)) and set(counts.values()) == {1}
    rows = {name: {row["n"]: row for row in json.loads((tmp_path / f"{name}.json").read_text())} for name in plans}
    for n in range(5, 9):
        assert rows["a"][n] == rows["b"][n]


def test_killed_worker_costs_only_runs_in_flight(tmp_path, marks, dask_executor):
    runs = _runs(marks, range(1, 11), sleep=0.4)
    cache = tmp_path / "cache"
    pids = dask_executor._client.run(os.getpid)  # worker address -> worker process id
    stored_at_kill: set[str] = set()

    def kill_one_worker_mid_sweep():
        deadline = time.monotonic() + 60
        while len(_stored_ids(cache) if cache.exists() else ()) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        stored_at_kill.update(_stored_ids(cache))
        # The client drops a stored run's future at once; its release reaches the scheduler one message
        # later. Give it that time, so the runs stored before the kill are released ones (a finished
        # task whose future a client still holds is recomputed by Dask when its worker dies).
        time.sleep(0.25)
        os.kill(next(iter(pids.values())), signal.SIGKILL)  # its nanny starts a new worker process

    killer = threading.Thread(target=kill_one_worker_mid_sweep)
    killer.start()
    results = _sweep(runs, cache, dask_executor)
    killer.join()
    assert 3 <= len(stored_at_kill) < len(runs), "the kill came too late to test anything"
    counts = _computations(marks)
    twice = {run_id for run_id, count in counts.items() if count > 1}
    assert len(counts) == len(runs) and set(counts.values()) <= {1, 2}
    # Recomputed: only runs the client had in flight and not yet stored (the one running on the
    # killed worker, and one it had finished but not yet handed back).
    assert len(twice) <= in_flight_limit(dask_executor)
    assert twice.isdisjoint(stored_at_kill)
    assert [row["mean"] for row in results.rows()] == [_toy_runner_value(run) for run in runs]
    assert _sweep(runs, cache, dask_executor).counts()["cache"] == len(runs)


def _toy_runner_value(run: Run) -> float:
    return float(np.random.default_rng(run.seed).standard_normal((run.n, run.d)).mean())


def _dying_client(address: str, cache: str, marks: str) -> None:
    executor, _ = open_executor(parse_executor_spec(address))
    _sweep(_runs(Path(marks), range(1, 13), sleep=0.3), cache, executor)


def test_killed_client_loses_only_its_runs_in_flight(tmp_path, marks, dask_executor):
    address = "dask://" + dask_executor.hierpoly_address.removeprefix("tcp://")
    cache = tmp_path / "cache"
    client = multiprocessing.get_context("spawn").Process(target=_dying_client, args=(address, str(cache), str(marks)))
    client.start()
    deadline = time.monotonic() + 60
    while len(_stored_ids(cache) if cache.exists() else ()) < 3:
        assert time.monotonic() < deadline and client.is_alive(), "the client stored nothing"
        time.sleep(0.02)
    os.kill(client.pid, signal.SIGKILL)
    client.join()
    stored = _stored_ids(cache)
    for path in list(marks.iterdir()):
        path.unlink()
    runs = _runs(marks, range(1, 13), sleep=0.3)
    results = _sweep(runs, cache, dask_executor)
    recomputed = set(_computations(marks))
    assert recomputed.isdisjoint(stored), "a finished run was recomputed"
    assert recomputed | stored == {f"{n}-0" for n in range(1, 13)}
    assert results.counts() == {"computed": len(recomputed), "cache": len(stored), "recomputed-corrupt": 0}


def test_submitit_local_executor_matches_in_process(tmp_path, marks):
    submitit = pytest.importorskip("submitit")
    runs = _runs(marks, [2, 4], seeds=(0, 1))
    local = _sweep(runs, tmp_path / "inprocess", InProcessExecutor())
    jobs = submitit.AutoExecutor(folder=tmp_path / "submitit", cluster="local")
    jobs.update_parameters(timeout_min=2)
    executor = JobsAsFutures(jobs.submit)
    try:
        remote = _sweep(runs, tmp_path / "submitit-cache", executor, batch_runner=_toy_batch_runner)
    finally:
        executor.shutdown()
    assert remote.counts()["computed"] == len(runs) and local.rows() == remote.rows()
    assert _cache_files(tmp_path / "inprocess") == _cache_files(tmp_path / "submitit-cache")


def test_default_executor_is_used_and_in_flight_limits(tmp_path, marks):
    class Recording(InProcessExecutor):
        submitted = 0

        def submit(self, fn, /, *args, **kwargs):
            Recording.submitted += 1
            return super().submit(fn, *args, **kwargs)

    with use_executor(Recording()):
        run_sweep(_toy_runner, _runs(marks, [2, 3]), cache_dir=tmp_path, code_version=VERSION, progress=False)
    assert Recording.submitted == 2
    assert in_flight_limit(InProcessExecutor()) == 1
    with cf.ThreadPoolExecutor(3) as pool:
        assert in_flight_limit(pool) == 6


@pytest.mark.parametrize("text, spec", [
    (None, ExecutorSpec("inprocess")), ("inprocess", ExecutorSpec("inprocess")),
    ("dask://head-node:8786", ExecutorSpec("dask", address="tcp://head-node:8786")),
    ("dask-local:3", ExecutorSpec("dask-local", workers=3)),
])
def test_executor_specs(text, spec):
    assert parse_executor_spec(text) == spec
    assert parse_executor_spec(str(spec)) == spec


@pytest.mark.parametrize("text, match", [
    ("dask-locl", "unknown executor 'dask-locl': use inprocess, dask://HOST:PORT or dask-local"),
    ("dask://head-node", r"written dask://HOST:PORT"),
    ("dask://head-node:http", "port must be an integer in 1..65535, got 'http'"),
    ("dask://head-node:0", "port must be an integer in 1..65535"),
    ("dask-local:0", r"N in dask-local:N must be an integer >= 1"),
    ("dask-local:two", r"N in dask-local:N must be an integer >= 1"),
])
def test_bad_executor_specs_are_refused_by_name(text, match):
    with pytest.raises(ExecutorSpecError, match=match):
        parse_executor_spec(text)


def test_unreachable_scheduler_is_named():
    with pytest.raises(ExecutorSpecError, match=r"no Dask scheduler answered at tcp://127.0.0.1:9 within 1 s"):
        open_executor(parse_executor_spec("dask://127.0.0.1:9"), connect_timeout_s=1)


@pytest.mark.parametrize("where", ["option", "environment"])
def test_bad_executor_option_is_a_usage_error(pytester, monkeypatch, where):
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    if where == "option":
        result = pytester.runpytest("-p", "no:cacheprovider", "--executor", "dask-local:0")
    else:
        monkeypatch.setenv("HIERPOLY_EXECUTOR", "ray://head:10001")
        result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    expected = "*dask-local:N must be an integer >= 1*" if where == "option" else "*unknown executor 'ray://head:10001'*"
    result.stderr.fnmatch_lines([expected])


def test_runs_are_picklable_plain_data(marks):
    import pickle

    run = _runs(marks, [4])[0]
    assert pickle.loads(pickle.dumps(run)) == run
    assert run.batch_key() == Run("toy", 3, 4, 99, run.config).batch_key() != Run("toy", 3, 5, 0, run.config).batch_key()



_END_TO_END_CHECK = '''
import os
import sys

import cloudpickle

from checks.sweep import Run, run_sweep

cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this file


def where(run):
    return {"pid": os.getpid(), "size": run.n}


def test_sweep_runs_on_the_executor_named_on_the_command_line(tmp_path):
    results = run_sweep(where, [Run("toy", 2, n, 0, {}) for n in (1, 2, 3)], cache_dir=tmp_path,
                        code_version="end-to-end/1", progress=False)
    pids = {row["pid"] for row in results.rows()}
    assert os.getpid() not in pids, "the sweep ran in the pytest process, not on the Dask workers"
    assert sorted(row["size"] for row in results.rows()) == [1, 2, 3]
'''


def test_executor_option_sends_the_audits_sweeps_to_dask(tmp_path):
    """End to end, as a user runs it: ``pytest --executor dask-local:2`` in a fresh directory (a
    subprocess: a LocalCluster inside an in-process pytester run hangs), and the sweep of the
    collected test runs in the cluster's worker processes."""
    import subprocess

    (tmp_path / "test_end_to_end.py").write_text(_END_TO_END_CHECK)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HIERPOLY_", "PYTEST_XDIST"))}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                           "--executor", "dask-local:2", "test_end_to_end.py"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "1 passed" in proc.stdout
