"""The sweep engine: grids of training runs, each cached on disk under a hash of its configuration.

A run is ``(method, d, n, seed, config)``; a *runner* turns it into a result dict of plain JSON
values. ``run_sweep(runner, runs, cache_dir=..., code_version=...)`` returns a ``SweepResults``
table (one row per run, in the order given) and stores every finished run at once, so that

- a killed sweep resumes where it stopped: every run that finished is on disk;
- a changed setting reruns only the runs whose configuration it changes (the key is the sha256 of
  the run's canonical JSON, i.e. sorted keys, plus ``code_version`` and the runner's name);
- several processes (pytest-xdist workers) may share one cache directory: files are written to a
  temporary file and moved into place with ``os.replace`` (readers never see half a file), and a
  per-run lock file (``fcntl.flock``, released by the OS if its holder dies) makes a second
  process wait for a run in progress instead of computing it twice;
- a corrupted or truncated cache file is detected (schema, key and a sha256 checksum of the result
  are stored inside) and recomputed, never trusted.

Where the runs execute is an executor's business (``executor=``, any
``concurrent.futures.Executor``; default: ``checks.executors.default_executor()``, in-process
unless ``--executor`` / ``$HIERPOLY_EXECUTOR`` says otherwise). Only runs missing from the cache
are submitted, each as a picklable ``SweepTask`` (the runner, plain-data runs that carry their
seeds, a thread count); the worker generates its data from the seed and returns plain results.
The *client* (the process calling ``run_sweep``) holds each run's lock while its task is in
flight and writes the results to the cache as they come back: workers never touch the cache
directory. A killed worker or client therefore loses only the runs in flight. With
``batch_runner=`` the runs that share ``Run.batch_key()`` travel as one task and are still cached
one file per run, under the single-run key. Without an executor, parallelism comes from several
tests (xdist workers) sharing the cache.

Progress goes to stderr through tqdm; it is off when stderr is not a terminal (under pytest's
capture, in CI) or when ``progress=False`` / ``$HIERPOLY_PROGRESS=0``.

Bump ``code_version`` whenever what a runner computes changes: the key cannot see code.
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import json
import math
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np

__all__ = [
    "CACHE_SCHEMA",
    "Run",
    "RunRecord",
    "SweepResults",
    "RunCache",
    "SweepConfigError",
    "canonical_json",
    "run_key",
    "runner_name",
    "grid",
    "run_sweep",
    "RunLock",
    "SweepTask",
]

CACHE_SCHEMA = "hierpoly-sweep-run/1"
PROGRESS_ENV = "HIERPOLY_PROGRESS"
_RUN_FIELDS = ("method", "d", "n", "seed")


class SweepConfigError(TypeError):
    """A run's configuration or result is not plain JSON data (so it cannot be hashed or cached)."""


def _plain(value: Any, where: str, *, allow_nonfinite: bool) -> Any:
    """Plain JSON types (dict with str keys, list, str, int, float, bool, None) from value."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        x = float(value)
        if not allow_nonfinite and not math.isfinite(x):
            raise SweepConfigError(f"{where}: a run configuration may not hold the non-finite float {x!r}")
        return x
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise SweepConfigError(f"{where}: mapping keys must be strings, got {key!r}")
            out[key] = _plain(item, f"{where}.{key}", allow_nonfinite=allow_nonfinite)
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{where}[{i}]", allow_nonfinite=allow_nonfinite) for i, item in enumerate(value)]
    if isinstance(value, np.ndarray):
        return _plain(value.tolist(), where, allow_nonfinite=allow_nonfinite)
    raise SweepConfigError(f"{where}: {type(value).__name__} is not plain JSON data ({value!r})")


def canonical_json(value: Any, *, allow_nonfinite: bool = False) -> str:
    """The canonical JSON text of plain data: sorted keys, no whitespace, tuples as lists.

    Two configurations that compare equal as data give the same text (so the same cache key);
    ``1`` and ``1.0`` differ, as they do in JSON.
    """
    return json.dumps(_plain(value, "config", allow_nonfinite=allow_nonfinite), sort_keys=True,
                      separators=(",", ":"), allow_nan=allow_nonfinite)


@dataclass(frozen=True)
class Run:
    """One training run of a sweep: a method at dimension d with n samples and a seed, plus the
    rest of its configuration (plain JSON data: target description, widths, ridges, ...)."""

    method: str
    d: int
    n: int
    seed: int
    config: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.method, str) or not self.method:
            raise SweepConfigError(f"method must be a non-empty string, got {self.method!r}")
        for name in ("d", "n", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise SweepConfigError(f"{name} must be an integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.d < 1 or self.n < 1:
            raise SweepConfigError(f"a run needs d >= 1 and n >= 1, got d={self.d}, n={self.n}")
        if self.seed < 0:
            raise SweepConfigError(f"seed must be >= 0, got {self.seed}")
        plain = _plain(dict(self.config), "config", allow_nonfinite=False)
        clash = set(plain) & set(_RUN_FIELDS)
        if clash:
            raise SweepConfigError(f"config keys {sorted(clash)} repeat the run's own fields")
        object.__setattr__(self, "config", MappingProxyType(plain))

    def as_dict(self) -> dict[str, Any]:
        return {"method": self.method, "d": self.d, "n": self.n, "seed": self.seed,
                "config": dict(self.config)}

    def batch_key(self) -> str:
        """The canonical JSON of every field but the seed: runs that share it differ only in
        their seed, so a batched runner can train them together (``run_sweep(batch_runner=...)``)."""
        return canonical_json({"method": self.method, "d": self.d, "n": self.n, "config": dict(self.config)})

    def __reduce__(self):
        # The read-only config view cannot be pickled; rebuild the run from plain data on the worker.
        return (Run, (self.method, self.d, self.n, self.seed, dict(self.config)))


def run_key(run: Run, *, code_version: str, runner_name: str = "") -> str:
    """sha256 hex digest of the run's canonical configuration, the code version and the runner."""
    if not code_version:
        raise SweepConfigError("code_version must be a non-empty string (bump it when a runner changes)")
    text = canonical_json({"run": run.as_dict(), "code_version": code_version, "runner": runner_name})
    return hashlib.sha256(text.encode()).hexdigest()


def _checksum(result_text: str) -> str:
    return hashlib.sha256(result_text.encode()).hexdigest()


class RunCache:
    """Finished runs on disk: ``root/sweep-runs/<key[:2]>/<key>.json``, written atomically."""

    def __init__(self, root: Path | str):
        self.root = Path(root) / "sweep-runs"

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def load(self, key: str, run: Run) -> tuple[dict[str, Any] | None, bool]:
        """(result, corrupt): the cached result, or None; corrupt says a file was there but
        failed validation (bad JSON, wrong schema or key, checksum mismatch)."""
        path = self.path(key)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None, False
        except (OSError, UnicodeDecodeError):
            return None, True
        try:
            doc = json.loads(text)
            result = doc["result"]
            ok = (doc["schema"] == CACHE_SCHEMA and doc["key"] == key and doc["run"] == run.as_dict()
                  and isinstance(result, dict)
                  and doc["checksum"] == _checksum(canonical_json(result, allow_nonfinite=True)))
        except (ValueError, KeyError, TypeError, SweepConfigError):
            return None, True
        return (result, False) if ok else (None, True)

    def store(self, key: str, run: Run, result: Mapping[str, Any], *, code_version: str) -> None:
        result_text = canonical_json(result, allow_nonfinite=True)
        doc = {"schema": CACHE_SCHEMA, "key": key, "code_version": code_version, "run": run.as_dict(),
               "result": json.loads(result_text), "checksum": _checksum(result_text)}
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(json.dumps(doc, sort_keys=True))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def lock(self, key: str) -> "RunLock":
        """The exclusive cross-process lock of one run (held while the run is being computed)."""
        return RunLock(self.path(key).with_suffix(".lock"))


class RunLock:
    """An ``fcntl.flock`` on a run's lock file: exclusive across processes, released by the OS if
    its holder dies (a no-op where fcntl is missing). Usable as a blocking context manager."""

    def __init__(self, path: Path):
        self.path = path
        self._fh = None

    def acquire(self, *, blocking: bool = True) -> bool:
        """Take the lock; without ``blocking``, return False at once if another process holds it."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a")
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            fh.close()
            return False
        except BaseException:
            fh.close()
            raise
        self._fh = fh
        return True

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()  # closing the file drops the flock
            self._fh = None

    def __enter__(self) -> "RunLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


@dataclass(frozen=True)
class RunRecord:
    run: Run
    result: Mapping[str, Any]
    source: str  # "computed", "cache" or "recomputed-corrupt"

    def row(self) -> dict[str, Any]:
        clash = set(self.result) & (set(_RUN_FIELDS) | set(self.run.config))
        if clash:
            raise SweepConfigError(f"result keys {sorted(clash)} repeat the run's configuration keys")
        return {"method": self.run.method, "d": self.run.d, "n": self.run.n, "seed": self.run.seed,
                **self.run.config, **self.result}


class SweepResults(Sequence[RunRecord]):
    """The tidy result of a sweep: one record per run, in the order the runs were given."""

    def __init__(self, records: Iterable[RunRecord]):
        self._records = list(records)

    def __len__(self) -> int:
        return len(self._records)

    def __getitem__(self, index):  # type: ignore[override]
        if isinstance(index, slice):
            return SweepResults(self._records[index])
        return self._records[index]

    def rows(self) -> list[dict[str, Any]]:
        """Flat dicts: method, d, n, seed, the config keys, then the result keys."""
        return [rec.row() for rec in self._records]

    def where(self, **equal: Any) -> "SweepResults":
        """The records whose row has every given column equal to the given value."""
        return SweepResults(rec for rec in self._records
                            if all(rec.row().get(k) == v for k, v in equal.items()))

    def column(self, name: str) -> list[Any]:
        return [row[name] for row in self.rows()]

    def curves(self, value: str | Callable[[Mapping[str, Any]], float], *,
               by: Sequence[str] = ("method", "d", "seed")) -> dict[tuple, tuple[np.ndarray, np.ndarray]]:
        """group -> (n sorted ascending, value at each n): one curve against n per group, groups in the
        order of their first row; ``value`` is a column name or a function of a row."""
        read = (lambda row: float(row[value])) if isinstance(value, str) else value
        groups: dict[tuple, list[tuple[int, float]]] = {}
        for row in self.rows():
            groups.setdefault(tuple(row[b] for b in by), []).append((row["n"], float(read(row))))
        out = {}
        for key, pairs in groups.items():
            pairs.sort()
            ns = np.array([p[0] for p in pairs], dtype=float)
            if np.any(np.diff(ns) == 0):
                raise ValueError(f"group {key} has two runs with the same n: add a column to `by`")
            out[key] = (ns, np.array([p[1] for p in pairs]))
        return out

    def counts(self) -> dict[str, int]:
        """How many runs were computed, read from the cache, or recomputed over a corrupt file."""
        out = {"computed": 0, "cache": 0, "recomputed-corrupt": 0}
        for rec in self._records:
            out[rec.source] += 1
        return out


def grid(*, methods: Sequence[str], ds: Sequence[int], ns: Callable[[int], Sequence[int]] | Sequence[int],
         seeds: Sequence[int], config: Callable[[str, int], Mapping[str, Any]] | Mapping[str, Any] = MappingProxyType({})) -> list[Run]:
    """The cartesian grid of runs; ``ns`` and ``config`` may depend on d (and config on the method)."""
    runs = []
    for method in methods:
        for d in ds:
            n_values = ns(d) if callable(ns) else ns
            cfg = config(method, d) if callable(config) else config
            for n in n_values:
                for s in seeds:
                    runs.append(Run(method=method, d=d, n=int(n), seed=int(s), config=cfg))
    return runs


def _progress_enabled(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    env = os.environ.get(PROGRESS_ENV)
    if env is not None and env != "":
        return env not in ("0", "false", "no", "off")
    return sys.stderr.isatty()


def runner_name(runner: Callable) -> str:
    """``module.qualname`` of a runner function (of its class for a callable object, of the wrapped
    function for a functools.partial, whose bound arguments must then be in the run's config), with
    ``@<device type>`` when a partial binds a ``device`` other than the CPU: a GPU draws its data and
    test points from its own generator, so its runs are other draws and never share the CPU's cache
    entries (CPU keys carry no suffix)."""
    import functools

    device = "cpu"
    while isinstance(runner, functools.partial):
        device = str(runner.keywords.get("device", device))
        runner = runner.func
    target = runner if hasattr(runner, "__qualname__") else type(runner)
    kind = device.split(":")[0]
    return f"{target.__module__}.{target.__qualname__}" + ("" if kind == "cpu" else f"@{kind}")


def _plain_result(result: Any, name: str) -> dict[str, Any]:
    """A runner's result as plain JSON data (non-finite floats allowed), or a SweepConfigError."""
    if not isinstance(result, Mapping):
        raise SweepConfigError(f"runner {name} returned {type(result).__name__}, not a mapping")
    return json.loads(canonical_json(result, allow_nonfinite=True))


@contextlib.contextmanager
def _thread_limit(threads: int | None) -> Iterator[None]:
    """Cap BLAS/OpenMP (and torch, when loaded) at ``threads`` for the duration; None: leave as is."""
    if threads is None:
        yield
        return
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")  # the runner's module imports torch when it needs it
    previous = torch.get_num_threads() if torch is not None else None
    with threadpool_limits(threads):
        if torch is not None:
            torch.set_num_threads(threads)
        try:
            yield
        finally:
            if torch is not None:
                torch.set_num_threads(previous)


@dataclass(frozen=True)
class SweepTask:
    """The unit of work an executor receives: ``runs`` computed one by one by ``runner``, or together
    by ``batch_runner`` (one call, one result per run in order), under ``threads`` BLAS/torch threads
    (None: the worker's setting). Calling it returns the plain results in the runs' order.

    Picklable when the runner is (a module-level function, or a ``functools.partial`` of one): the
    runs are plain data, and everything a run needs (its seed, its target, the device named in the
    runner's partial) travels inside; the worker generates its own data from the seed and needs
    neither the client's working directory nor its environment variables.
    """

    runner: Callable[[Run], Mapping[str, Any]]
    runs: tuple[Run, ...]
    batch_runner: Callable[[list[Run]], Sequence[Mapping[str, Any]]] | None = None
    threads: int | None = None

    def __call__(self) -> list[dict[str, Any]]:
        with _thread_limit(self.threads):
            if self.batch_runner is None:
                name = runner_name(self.runner)
                results = [self.runner(run) for run in self.runs]
            else:
                name = runner_name(self.batch_runner)
                results = list(self.batch_runner(list(self.runs)))
                if len(results) != len(self.runs):
                    raise SweepConfigError(f"batch runner {name} returned {len(results)} results "
                                           f"for {len(self.runs)} runs")
        return [_plain_result(result, name) for result in results]


class _SweepClient:
    """The client side of one sweep: claims runs (their locks), submits them to the executor, and
    stores each result the moment its future completes. At most ``limit`` tasks are in flight, so
    the in-process executor computes and stores one run at a time, as before executors."""

    def __init__(self, runs: Mapping[str, Run], cache: RunCache, executor: cf.Executor, *,
                 make_task: Callable[[tuple[Run, ...]], SweepTask], code_version: str, limit: int,
                 on_result: Callable[[Run], None]):
        self.runs, self.cache, self.executor = runs, cache, executor
        self.make_task, self.code_version, self.limit, self.on_result = make_task, code_version, limit, on_result
        self.found: dict[str, tuple[dict[str, Any], str]] = {}
        self.corrupt: set[str] = set()
        self.locks: dict[str, RunLock] = {}
        self.in_flight: dict[cf.Future, list[str]] = {}

    def lookup(self, key: str) -> bool:
        """Take a valid cached result of ``key`` into ``found``; remember a corrupt file."""
        result, corrupt = self.cache.load(key, self.runs[key])
        if corrupt:
            self.corrupt.add(key)
        if result is None:
            return False
        self.found[key] = (result, "cache")
        self.on_result(self.runs[key])
        return True

    def claim(self, keys: Sequence[str], *, blocking: bool) -> tuple[list[str], list[str]]:
        """(claimed, held elsewhere): lock each run (waiting, if ``blocking``, for the first only)
        and drop the runs another process finished in the meantime."""
        claimed, elsewhere = [], []
        for i, key in enumerate(keys):
            lock = self.cache.lock(key)
            if not lock.acquire(blocking=blocking and i == 0):
                elsewhere.append(key)
            elif self.lookup(key):  # finished by another process while we waited
                lock.release()
            else:
                self.locks[key] = lock
                claimed.append(key)
        return claimed, elsewhere

    def submit(self, keys: list[str]) -> None:
        try:
            future = self.executor.submit(self.make_task(tuple(self.runs[k] for k in keys)))
        except BaseException:
            self.release(keys)
            raise
        self.in_flight[future] = keys

    def collect(self, future: cf.Future) -> None:
        keys = self.in_flight.pop(future)
        try:
            for key, result in zip(keys, future.result(), strict=True):
                self.cache.store(key, self.runs[key], result, code_version=self.code_version)
                self.found[key] = (result, "recomputed-corrupt" if key in self.corrupt else "computed")
                self.on_result(self.runs[key])
        finally:
            self.release(keys)

    def release(self, keys: Iterable[str]) -> None:
        for key in keys:
            lock = self.locks.pop(key, None)
            if lock is not None:
                lock.release()

    def abandon(self) -> None:
        """After an error: keep what already finished, cancel the rest, free every lock."""
        for future in list(self.in_flight):
            if future.done() and not future.cancelled() and future.exception() is None:
                with contextlib.suppress(Exception):
                    self.collect(future)
                    continue
            future.cancel()
            self.release(self.in_flight.pop(future, ()))

    def run(self, groups: list[list[str]]) -> dict[str, tuple[dict[str, Any], str]]:
        """Compute every group (a list of run keys that travel as one task) not yet in ``found``."""
        pending = groups
        try:
            while pending or self.in_flight:
                waiting = []
                for group in pending:
                    if len(self.in_flight) >= self.limit:
                        waiting.append(group)
                        continue
                    claimed, elsewhere = self.claim(group, blocking=False)
                    if elsewhere:
                        waiting.append(elsewhere)
                    if claimed:
                        self.submit(claimed)
                pending = waiting
                if self.in_flight:
                    done, _ = cf.wait(list(self.in_flight), return_when=cf.FIRST_COMPLETED)
                    for future in done:
                        self.collect(future)
                    # Drop the finished futures now, not at the next wait: a Dask client that still holds
                    # one recomputes its task when the worker that holds the result dies.
                    del done, future
                elif pending:
                    # Every run left is in flight in another process: wait for the first of them.
                    first, rest = pending[0][:1], pending[0][1:]
                    pending = ([rest] if rest else []) + pending[1:]
                    claimed, _ = self.claim(first, blocking=True)
                    if claimed:
                        self.submit(claimed)
        except BaseException:
            self.abandon()
            raise
        return self.found


def _task_groups(runs: Mapping[str, Run], keys: Iterable[str], batch_key: Callable[[Run], str] | None
                 ) -> list[list[str]]:
    """One group per run, or (batched) one per ``batch_key(run)``, in order of first appearance."""
    if batch_key is None:
        return [[key] for key in keys]
    groups: dict[str, list[str]] = {}
    for key in keys:
        groups.setdefault(batch_key(runs[key]), []).append(key)
    return list(groups.values())


def run_sweep(runner: Callable[[Run], Mapping[str, Any]], runs: Iterable[Run], *, cache_dir: Path | str,
              code_version: str, progress: bool | None = None, desc: str = "sweep",
              executor: cf.Executor | None = None,
              batch_runner: Callable[[list[Run]], Sequence[Mapping[str, Any]]] | None = None,
              batch_key: Callable[[Run], str] = Run.batch_key,
              threads: int | None = None, max_in_flight: int | None = None) -> SweepResults:
    """Run (or read from the cache) every run and return the tidy results, in the order given.

    ``runner(run)`` must return a mapping of plain JSON values (non-finite floats allowed); it is
    called only for runs that have no valid cache file. Each result is stored the moment its task
    completes. The key covers the run, ``code_version`` and the runner's qualified name.

    executor: any ``concurrent.futures.Executor`` (default ``checks.executors.default_executor()``);
    it receives picklable ``SweepTask``s for the uncached runs only. The calling process holds each
    run's lock while its task is in flight (a second process sharing the cache computes other runs,
    then waits for these) and writes the cache itself. max_in_flight: tasks submitted at once
    (default ``checks.executors.in_flight_limit(executor)``: 1 in-process, twice the worker slots
    otherwise). batch_runner: ``batch_runner(list_of_runs) -> list_of_results``; the uncached runs
    that share ``run.batch_key()`` go to it as one task, each result cached under its single-run key
    (so a batched sweep and ``runner`` share cache entries; ``runner`` must compute the same thing).
    batch_key: which uncached runs travel as one task (default ``Run.batch_key``: those that differ
    only in their seed); a coarser key lets a batch runner that can train them together take several
    grid points at once.
    threads: BLAS/torch threads the task sets on its worker (None: the worker's own setting).
    """
    from tqdm.auto import tqdm

    from checks.executors import default_executor, in_flight_limit

    runs = list(runs)
    for run in runs:
        if not isinstance(run, Run):
            raise SweepConfigError(f"run_sweep takes Run objects, got {type(run).__name__}")
    if max_in_flight is not None and max_in_flight < 1:
        raise SweepConfigError(f"max_in_flight must be >= 1, got {max_in_flight}")
    name = runner_name(runner)
    keys = [run_key(run, code_version=code_version, runner_name=name) for run in runs]
    by_key = dict(zip(keys, runs))
    executor = executor if executor is not None else default_executor()
    bar = tqdm(total=len(by_key), desc=desc, file=sys.stderr, disable=not _progress_enabled(progress),
               leave=False, dynamic_ncols=True)

    def on_result(run: Run) -> None:
        bar.update(1)
        bar.set_postfix_str(f"{run.method} d={run.d} n={run.n}", refresh=False)

    client = _SweepClient(
        by_key, RunCache(cache_dir), executor, code_version=code_version, on_result=on_result,
        make_task=lambda task_runs: SweepTask(runner, task_runs, batch_runner, threads),
        limit=max_in_flight or in_flight_limit(executor))
    try:
        uncached = [key for key in by_key if not client.lookup(key)]
        found = client.run(_task_groups(by_key, uncached, batch_key if batch_runner is not None else None))
    finally:
        bar.close()
    records, seen = [], set()
    for key, run in zip(keys, runs):
        result, source = found[key]
        # A run listed twice is computed once; its repeat reads the first one's result.
        records.append(RunRecord(run=run, result=MappingProxyType(result), source="cache" if key in seen else source))
        seen.add(key)
    return SweepResults(records)
