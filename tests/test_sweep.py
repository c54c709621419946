"""The sweep engine: cache keys, atomic resumable caching, corruption, sharing between processes."""
from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path

import numpy as np
import pytest

from checks.executors import InProcessExecutor, use_executor
from checks.sweep import (CACHE_SCHEMA, Run, RunCache, SweepConfigError, SweepResults, canonical_json, grid,
                          run_key, run_sweep, runner_name)

VERSION = "test-v1"


@pytest.fixture(autouse=True)
def in_process():
    """These tests count calls in this process: whatever --executor says, sweeps run here."""
    with use_executor(InProcessExecutor()):
        yield


def _square_runner(run: Run) -> dict:
    return {"value": run.n * run.d + run.config.get("offset", 0) + run.seed / 10, "inf": float("inf")}


class CountingRunner:
    def __init__(self):
        self.calls: list[Run] = []

    def __call__(self, run: Run) -> dict:
        self.calls.append(run)
        return _square_runner(run)


def _runs(offset=0):
    return grid(methods=["net"], ds=[4, 8], ns=lambda d: [d, 2 * d, 4 * d], seeds=[0, 1],
                config={"offset": offset, "widths": (3, 4)})


def test_key_is_canonical_and_sensitive_to_every_setting():
    a = Run("net", 8, 64, 0, {"b": 1, "a": {"y": 2.0, "x": (1, 2)}})
    b = Run("net", 8, 64, 0, {"a": {"x": [1, 2], "y": 2.0}, "b": 1})
    assert run_key(a, code_version=VERSION) == run_key(b, code_version=VERSION)
    assert len(run_key(a, code_version=VERSION)) == 64
    variants = [Run("kernel", 8, 64, 0, a.config), Run("net", 9, 64, 0, a.config), Run("net", 8, 65, 0, a.config),
                Run("net", 8, 64, 1, a.config), Run("net", 8, 64, 0, {**a.config, "b": 2})]
    keys = {run_key(v, code_version=VERSION) for v in variants}
    keys |= {run_key(a, code_version="test-v2"), run_key(a, code_version=VERSION, runner_name="other")}
    assert len(keys) == 7 and run_key(a, code_version=VERSION) not in keys
    assert canonical_json({"b": 1, "a": np.int64(2)}) == '{"a":2,"b":1}'


@pytest.mark.parametrize("config, match", [
    ({"x": object()}, "not plain JSON"), ({"x": float("nan")}, "non-finite"), ({1: 2}, "keys must be strings"),
    ({"n": 3}, "repeat the run's own fields"),
])
def test_bad_configurations_are_refused_by_name(config, match):
    with pytest.raises(SweepConfigError, match=match):
        Run("net", 8, 64, 0, config)


@pytest.mark.parametrize("field, value", [("d", 0), ("n", 2.5), ("seed", -1), ("method", "")])
def test_bad_run_fields_are_refused(field, value):
    kwargs = {"method": "net", "d": 8, "n": 64, "seed": 0, field: value}
    with pytest.raises(SweepConfigError, match=field if field != "method" else "method"):
        Run(**kwargs)


def test_second_sweep_reads_everything_from_cache(tmp_path):
    runner = CountingRunner()
    first = run_sweep(runner, _runs(), cache_dir=tmp_path, code_version=VERSION, progress=False)
    assert len(runner.calls) == 12 and first.counts()["computed"] == 12
    second = run_sweep(runner, _runs(), cache_dir=tmp_path, code_version=VERSION, progress=False)
    assert len(runner.calls) == 12 and second.counts()["cache"] == 12
    assert first.rows() == second.rows()
    assert second.rows()[0]["inf"] == float("inf")  # non-finite results survive the cache


def test_changed_setting_reruns_only_what_it_changes(tmp_path):
    runner = CountingRunner()
    run_sweep(runner, _runs(), cache_dir=tmp_path, code_version=VERSION, progress=False)
    changed = [r if r.d == 4 else Run(r.method, r.d, r.n, r.seed, {**r.config, "offset": 5}) for r in _runs()]
    runner.calls.clear()
    results = run_sweep(runner, changed, cache_dir=tmp_path, code_version=VERSION, progress=False)
    assert {r.d for r in runner.calls} == {8} and len(runner.calls) == 6
    assert results.counts() == {"computed": 6, "cache": 6, "recomputed-corrupt": 0}
    runner.calls.clear()
    run_sweep(runner, _runs(), cache_dir=tmp_path, code_version="test-v2", progress=False)
    assert len(runner.calls) == 12  # a new code version invalidates everything


@pytest.mark.parametrize("damage", ["truncate", "garbage", "edit-result", "wrong-schema", "empty"])
def test_corrupt_cache_file_is_recomputed_not_trusted(tmp_path, damage):
    run = Run("net", 8, 64, 0, {"offset": 1})
    runner = CountingRunner()
    run_sweep(runner, [run], cache_dir=tmp_path, code_version=VERSION, progress=False)
    path = RunCache(tmp_path).path(run_key(run, code_version=VERSION, runner_name=runner_name(runner)))
    text = path.read_text()
    if damage == "truncate":
        path.write_text(text[: len(text) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\xff\xfe\x00garbage")
    elif damage == "edit-result":
        doc = json.loads(text)
        doc["result"]["value"] = 1e9  # the checksum no longer matches
        path.write_text(json.dumps(doc))
    elif damage == "wrong-schema":
        doc = json.loads(text)
        doc["schema"] = CACHE_SCHEMA + "-old"
        path.write_text(json.dumps(doc))
    else:
        path.write_text("")
    again = run_sweep(runner, [run], cache_dir=tmp_path, code_version=VERSION, progress=False)
    assert len(runner.calls) == 2 and again.counts()["recomputed-corrupt"] == 1
    assert again.rows()[0]["value"] == _square_runner(run)["value"]
    assert json.loads(path.read_text())["schema"] == CACHE_SCHEMA  # repaired on disk


def _dying_sweep(cache_dir: str, die_at: int) -> None:
    """Child process: computes runs and is killed (os._exit, no cleanup) inside run number die_at."""
    counter = {"i": 0}

    def runner(run):
        counter["i"] += 1
        if counter["i"] == die_at:
            os._exit(17)
        return _square_runner(run)

    run_sweep(runner, _runs(), cache_dir=cache_dir, code_version=VERSION, progress=False)


def _fork():
    return multiprocessing.get_context("fork")


def test_killed_sweep_resumes_without_losing_finished_runs(tmp_path):
    proc = _fork().Process(target=_dying_sweep, args=(str(tmp_path), 5))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 17
    files = list((tmp_path / "sweep-runs").rglob("*.json"))
    assert len(files) == 4  # the four runs that finished before the kill
    calls = []

    def runner(run):
        calls.append(run)
        return _square_runner(run)

    # same qualified name as the child's runner, so the child's files are this sweep's cache
    runner.__qualname__ = "_dying_sweep.<locals>.runner"
    results = run_sweep(runner, _runs(), cache_dir=tmp_path, code_version=VERSION, progress=False)
    assert len(calls) == 8 and results.counts()["cache"] == 4
    assert [row["value"] for row in results.rows()] == [_square_runner(r)["value"] for r in _runs()]


def _shared_sweep(cache_dir: str, log: str) -> None:
    def runner(run):
        with open(log, "a") as fh:
            fh.write(f"{run.d},{run.n},{run.seed}\n")
        return _square_runner(run)

    results = run_sweep(runner, _runs(), cache_dir=cache_dir, code_version=VERSION, progress=False)
    with open(f"{log}.{os.getpid()}", "w") as fh:
        json.dump(results.rows(), fh)


def test_processes_sharing_a_cache_compute_each_run_once(tmp_path):
    log = tmp_path / "calls.log"
    procs = [_fork().Process(target=_shared_sweep, args=(str(tmp_path / "cache"), str(log))) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    lines = log.read_text().splitlines()
    assert len(lines) == len(set(lines)) == 12  # every run computed exactly once
    outputs = [json.loads(Path(f"{log}.{p.pid}").read_text()) for p in procs]
    assert outputs[0] == outputs[1] == outputs[2]


def test_tidy_results_rows_where_curves(tmp_path):
    results = run_sweep(_square_runner, _runs(), cache_dir=tmp_path, code_version=VERSION, progress=False)
    assert isinstance(results, SweepResults) and len(results) == 12
    row = results.rows()[0]
    assert list(row)[:4] == ["method", "d", "n", "seed"] and row["offset"] == 0 and row["widths"] == [3, 4]
    assert len(results.where(d=8, seed=1)) == 3
    curves = results.curves("value")
    ns, values = curves[("net", 8, 1)]
    assert list(ns) == [8, 16, 32] and list(values) == [64.1, 128.1, 256.1]
    with pytest.raises(ValueError, match="same n"):
        results.curves("value", by=("method", "d"))


def test_result_that_is_not_plain_data_is_refused(tmp_path):
    with pytest.raises(SweepConfigError, match="not plain JSON"):
        run_sweep(lambda run: {"x": object()}, [Run("net", 4, 4, 0)], cache_dir=tmp_path,
                  code_version=VERSION, progress=False)
    assert not list(tmp_path.rglob("*.json"))  # nothing half-written
    with pytest.raises(SweepConfigError, match="code_version"):
        run_sweep(_square_runner, [Run("net", 4, 4, 0)], cache_dir=tmp_path, code_version="", progress=False)


def test_progress_goes_to_stderr_only_when_asked(tmp_path, capsys):
    run_sweep(_square_runner, _runs(), cache_dir=tmp_path / "a", code_version=VERSION, desc="quiet")
    assert "quiet" not in capsys.readouterr().err  # captured stderr is not a terminal
    run_sweep(_square_runner, _runs(), cache_dir=tmp_path / "b", code_version=VERSION, progress=True, desc="loud")
    captured = capsys.readouterr()
    assert "loud" in captured.err and "loud" not in captured.out


class CountingBatchRunner:
    def __init__(self):
        self.batches: list[list[Run]] = []

    def __call__(self, runs: list[Run]) -> list[dict]:
        self.batches.append(list(runs))
        return [_square_runner(run) for run in runs]


def _cache_files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in (root / "sweep-runs").rglob("*.json")}


def test_batched_and_single_runs_write_identical_cache_files(tmp_path):
    single = run_sweep(_square_runner, _runs(), cache_dir=tmp_path / "single", code_version=VERSION, progress=False)
    batch_runner = CountingBatchRunner()
    batched = run_sweep(_square_runner, _runs(), cache_dir=tmp_path / "batched", code_version=VERSION,
                        progress=False, batch_runner=batch_runner)
    # one batch per (method, d, n, config): the seeds 0 and 1 of each grid point travel together
    assert sorted(len(b) for b in batch_runner.batches) == [2] * 6
    assert all(len({r.batch_key() for r in b}) == 1 for b in batch_runner.batches)
    assert single.rows() == batched.rows() and batched.counts()["computed"] == 12
    assert _cache_files(tmp_path / "single") == _cache_files(tmp_path / "batched")


def test_a_coarser_batch_key_sends_several_grid_points_as_one_task(tmp_path):
    single = run_sweep(_square_runner, _runs(), cache_dir=tmp_path / "single", code_version=VERSION, progress=False)
    batch_runner = CountingBatchRunner()
    batched = run_sweep(_square_runner, _runs(), cache_dir=tmp_path / "batched", code_version=VERSION,
                        progress=False, batch_runner=batch_runner, batch_key=lambda run: f"{run.method}/{run.d}")
    assert len(batch_runner.batches) == len({(r.method, r.d) for r in _runs()})
    assert all(len({(r.method, r.d) for r in b}) == 1 for b in batch_runner.batches)
    assert single.rows() == batched.rows()
    assert _cache_files(tmp_path / "single") == _cache_files(tmp_path / "batched")


def test_the_joint_batch_key_bands_mini_batched_n_and_keeps_full_batch_points_apart():
    from checks.runs import joint_batch_key

    def run(n, seed=0, batch_size=4096):
        return Run("joint", 16, n, seed, {"batch_size": batch_size, "lr": 0.01})
    assert joint_batch_key(run(8192)) == joint_batch_key(run(11585, seed=3))       # one band: n/4096 in [1, 4)
    assert joint_batch_key(run(8192)) != joint_batch_key(run(16384))                # the next band
    assert joint_batch_key(run(4096)) != joint_batch_key(run(5793))                 # full batch vs mini-batches
    assert joint_batch_key(run(1024)) == joint_batch_key(run(2048))                 # full batch, one band
    assert joint_batch_key(run(64, batch_size=None)) == run(64, batch_size=None).batch_key()  # quick: per point
    assert joint_batch_key(run(64, batch_size=None)) != joint_batch_key(run(128, batch_size=None))


def test_batched_sweep_computes_only_what_the_cache_lacks(tmp_path):
    runs = _runs()
    run_sweep(_square_runner, runs[::2], cache_dir=tmp_path, code_version=VERSION, progress=False)
    batch_runner = CountingBatchRunner()
    results = run_sweep(_square_runner, runs, cache_dir=tmp_path, code_version=VERSION, progress=False,
                        batch_runner=batch_runner)
    assert sorted(r.seed for b in batch_runner.batches for r in b) == [1] * 6  # the single path cached seed 0
    assert results.counts() == {"computed": 6, "cache": 6, "recomputed-corrupt": 0}


def test_batch_runner_with_a_wrong_number_of_results_is_refused(tmp_path):
    with pytest.raises(SweepConfigError, match="returned 1 results for 2 runs"):
        run_sweep(_square_runner, _runs(), cache_dir=tmp_path, code_version=VERSION, progress=False,
                  batch_runner=lambda runs: [_square_runner(runs[0])])
    assert not list(tmp_path.rglob("*.json"))


def test_failing_run_keeps_finished_runs_and_frees_its_lock(tmp_path):
    def runner(run):
        if run.n == 16:
            raise RuntimeError("boom")
        return _square_runner(run)

    with pytest.raises(RuntimeError, match="boom"):
        run_sweep(runner, _runs(), cache_dir=tmp_path, code_version=VERSION, progress=False)
    assert len(list(tmp_path.rglob("*.json"))) == 4  # d = 4, n = 4 and 8, both seeds, finished first
    # the failed run's lock was released: a sweep in another process is not blocked by it
    key = run_key(_runs()[4], code_version=VERSION, runner_name=runner_name(runner))
    lock = RunCache(tmp_path).lock(key)
    with _fork().Pool(1) as pool:
        assert pool.apply(_lock_is_free, (lock,))


def _lock_is_free(lock) -> bool:
    free = lock.acquire(blocking=False)
    lock.release()
    return free


def test_duplicate_runs_are_computed_once(tmp_path):
    runner = CountingRunner()
    run = Run("net", 4, 8, 0)
    results = run_sweep(runner, [run, run], cache_dir=tmp_path, code_version=VERSION, progress=False)
    assert len(runner.calls) == 1 and [r.source for r in results] == ["computed", "cache"]


def test_a_gpu_runner_has_its_own_cache_identity_and_the_cpu_keeps_its_keys():
    import functools

    cpu = functools.partial(_square_runner, device="cpu")
    gpu = functools.partial(_square_runner, device="cuda:0")
    assert runner_name(cpu) == runner_name(_square_runner)        # CPU cache keys unchanged
    assert runner_name(gpu) == runner_name(_square_runner) + "@cuda"
    run = Run("net", 4, 4, 0)
    assert run_key(run, code_version=VERSION, runner_name=runner_name(cpu)) != \
        run_key(run, code_version=VERSION, runner_name=runner_name(gpu))


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA device")
def test_test_points_are_drawn_on_the_device():
    from checks.runs import build_test_set
    from checks.specs import section5_spec

    ts = build_test_set(section5_spec(6, seed=1), n_test=1024, seed=5, degrees=[3], device="cuda")
    assert ts.x.device.type == ts.h.device.type == ts.projection[3].device.type == "cuda"
