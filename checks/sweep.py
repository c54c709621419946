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

Parallelism comes from splitting a sweep over several tests that share the cache, which xdist
spreads over its workers; on a GPU one process runs the runs one after another.

Progress goes to stderr through tqdm; it is off when stderr is not a terminal (under pytest's
capture, in CI) or when ``progress=False`` / ``$HIERPOLY_PROGRESS=0``.

Bump ``code_version`` whenever what a runner computes changes: the key cannot see code.
"""
from __future__ import annotations

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

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Exclusive per-run lock across processes (a no-op where fcntl is missing)."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            yield
            return
        path = self.path(key).with_suffix(".lock")
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


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

    def curves(self, value: str, *, by: Sequence[str] = ("method", "d", "seed")) -> dict[tuple, tuple[np.ndarray, np.ndarray]]:
        """group -> (n sorted ascending, value at each n): one curve against n per group."""
        groups: dict[tuple, list[tuple[int, float]]] = {}
        for row in self.rows():
            groups.setdefault(tuple(row[b] for b in by), []).append((row["n"], float(row[value])))
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
    function for a functools.partial, whose bound arguments must then be in the run's config)."""
    import functools

    while isinstance(runner, functools.partial):
        runner = runner.func
    target = runner if hasattr(runner, "__qualname__") else type(runner)
    return f"{target.__module__}.{target.__qualname__}"


def run_sweep(runner: Callable[[Run], Mapping[str, Any]], runs: Iterable[Run], *, cache_dir: Path | str,
              code_version: str, progress: bool | None = None, desc: str = "sweep") -> SweepResults:
    """Run (or read from the cache) every run, in order, and return the tidy results.

    ``runner(run)`` must return a mapping of plain JSON values (non-finite floats allowed); it is
    called only for runs that have no valid cache file. Each result is stored the moment it is
    computed. The key covers the run, ``code_version`` and the runner's qualified name.
    """
    from tqdm.auto import tqdm

    runs = list(runs)
    for run in runs:
        if not isinstance(run, Run):
            raise SweepConfigError(f"run_sweep takes Run objects, got {type(run).__name__}")
    cache = RunCache(cache_dir)
    name = runner_name(runner)
    records: list[RunRecord] = []
    bar = tqdm(total=len(runs), desc=desc, file=sys.stderr, disable=not _progress_enabled(progress),
               leave=False, dynamic_ncols=True)
    try:
        for run in runs:
            key = run_key(run, code_version=code_version, runner_name=name)
            result, corrupt = cache.load(key, run)
            if result is None:
                with cache.lock(key):
                    # Another process may have finished this run while we waited for the lock.
                    result, corrupt_now = cache.load(key, run)
                    corrupt = corrupt or corrupt_now
                    if result is None:
                        computed = runner(run)
                        if not isinstance(computed, Mapping):
                            raise SweepConfigError(f"runner {name} returned {type(computed).__name__}, not a mapping")
                        cache.store(key, run, computed, code_version=code_version)
                        result = json.loads(canonical_json(computed, allow_nonfinite=True))
                        source = "recomputed-corrupt" if corrupt else "computed"
                    else:
                        source = "cache"
            else:
                source = "cache"
            records.append(RunRecord(run=run, result=MappingProxyType(result), source=source))
            bar.update(1)
            bar.set_postfix_str(f"{run.method} d={run.d} n={run.n}", refresh=False)
    finally:
        bar.close()
    return SweepResults(records)
