"""Where sweeps run: an executor spec (``--executor`` / ``$HIERPOLY_EXECUTOR``) and the process-wide
default executor that ``checks.sweep.run_sweep`` uses when it is given none.

Specs:

- ``inprocess`` (the default): every run in the calling process, one after another;
- ``dask://HOST:PORT``: a running Dask scheduler (``distributed.Client(...).get_executor()``);
- ``dask-local[:N]``: a ``distributed.LocalCluster`` of N worker processes with one thread each
  (default N: the CPU cores this process may use). Under pytest-xdist the controller starts it and
  hands its address to the xdist workers, so there is one cluster per audit, not one per worker.

Any other engine plugs in through ``use_executor`` or ``run_sweep(executor=...)`` with a standard
``concurrent.futures.Executor``; ``JobsAsFutures`` adapts engines whose ``submit`` returns a job
with a blocking ``result()`` (submitit's ``AutoExecutor`` on SLURM, or its local executor).
"""
from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

__all__ = [
    "EXECUTOR_ENV",
    "ExecutorSpecError",
    "ExecutorSpec",
    "InProcessExecutor",
    "JobsAsFutures",
    "parse_executor_spec",
    "open_executor",
    "in_flight_limit",
    "default_executor",
    "set_default_executor",
    "close_default_executor",
    "use_executor",
    "add_executor_option",
    "configure_pytest",
    "DEVICE_SLOTS_ENV",
    "DEVICE_LOCK_DIR_ENV",
    "DEFAULT_DEVICE_SLOTS",
    "device_slots",
    "device_slot",
]

EXECUTOR_ENV = "HIERPOLY_EXECUTOR"
_USAGE = "inprocess, dask://HOST:PORT or dask-local[:N]"
_WORKERINPUT_KEY = "hierpoly_executor"


class ExecutorSpecError(ValueError):
    """An executor spec that cannot be used: malformed, or its engine missing or unreachable."""


@dataclass(frozen=True)
class ExecutorSpec:
    """A parsed ``--executor`` value: ``kind`` is inprocess, dask or dask-local; ``address`` the
    scheduler's ``tcp://HOST:PORT`` (dask); ``workers`` the LocalCluster's processes (dask-local)."""

    kind: str
    address: str | None = None
    workers: int | None = None

    def __str__(self) -> str:
        if self.kind == "dask":
            return "dask://" + self.address.removeprefix("tcp://")
        if self.kind == "dask-local":
            return f"dask-local:{self.workers}"
        return self.kind


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def parse_executor_spec(text: str | None) -> ExecutorSpec:
    """The spec a ``--executor`` / ``$HIERPOLY_EXECUTOR`` value names (None or "" is inprocess)."""
    value = (text or "inprocess").strip()
    if value == "inprocess":
        return ExecutorSpec("inprocess")
    if value.startswith("dask://"):
        match = re.fullmatch(r"dask://([^:/\s]+):([^:/\s]*)", value)
        if match is None:
            raise ExecutorSpecError(f"executor {value!r}: a Dask scheduler is written dask://HOST:PORT "
                                    "(e.g. dask://head-node:8786)")
        host, port = match.groups()
        if not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ExecutorSpecError(f"executor {value!r}: the port must be an integer in 1..65535, got {port!r}")
        return ExecutorSpec("dask", address=f"tcp://{host}:{int(port)}")
    if value == "dask-local" or value.startswith("dask-local:"):
        count = value.partition(":")[2]
        if not count:
            return ExecutorSpec("dask-local", workers=_available_cores())
        if not count.isdigit() or int(count) < 1:
            raise ExecutorSpecError(f"executor {value!r}: N in dask-local:N must be an integer >= 1 "
                                    f"(worker processes), got {count!r}")
        return ExecutorSpec("dask-local", workers=int(count))
    raise ExecutorSpecError(f"unknown executor {value!r}: use {_USAGE}")


class InProcessExecutor(cf.Executor):
    """Runs each call at ``submit``, in the calling thread, and returns a finished future: the
    sweeps' default (one run after another, each stored before the next starts)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        future: cf.Future = cf.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # KeyboardInterrupt and SystemExit propagate at once
            future.set_exception(exc)
        return future


class JobsAsFutures(cf.Executor):
    """A ``concurrent.futures.Executor`` over an engine whose ``submit(fn, *args)`` returns a job with
    a blocking ``result()`` (submitit's executors): a waiting thread per job turns it into a future.
    A submit that already returns a ``concurrent.futures.Future`` is passed through."""

    def __init__(self, submit: Callable[..., Any], *, waiters: int = 32):
        self._submit = submit
        self._waiters = cf.ThreadPoolExecutor(max_workers=waiters, thread_name_prefix="hierpoly-job")

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future:
        job = self._submit(fn, *args, **kwargs)
        return job if isinstance(job, cf.Future) else self._waiters.submit(job.result)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._waiters.shutdown(wait=wait, cancel_futures=cancel_futures)


def _import_distributed():
    try:
        import distributed
    except ImportError:
        raise ExecutorSpecError('the Dask executors need dask[distributed]: pip install -e ".[dask]"') from None
    return distributed


@contextlib.contextmanager
def _quiet_dask_logs() -> Iterator[None]:
    # Connection chatter and the LocalCluster's shutdown notices are not the audit's business.
    loggers = [logging.getLogger(name) for name in ("distributed", "tornado")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def open_executor(spec: ExecutorSpec, *, connect_timeout_s: float = 10.0) -> tuple[cf.Executor, Callable[[], None]]:
    """(executor, close): a started executor for ``spec`` and the function that shuts it down
    (closing the Dask client and, for dask-local, the cluster it started)."""
    if spec.kind == "inprocess":
        return InProcessExecutor(), lambda: None
    distributed = _import_distributed()
    cluster = None
    if spec.kind == "dask-local":
        cluster = distributed.LocalCluster(n_workers=spec.workers, threads_per_worker=1, processes=True,
                                           dashboard_address=":0", silence_logs=logging.CRITICAL)
        address = cluster.scheduler_address
    else:
        address = spec.address
    try:
        client = distributed.Client(address, timeout=f"{connect_timeout_s}s", set_as_default=False)
    except OSError as exc:
        if cluster is not None:
            cluster.close()
        raise ExecutorSpecError(f"executor {spec}: no Dask scheduler answered at {address} "
                                f"within {connect_timeout_s:g} s ({exc})") from None

    def close() -> None:
        with _quiet_dask_logs():
            client.close()
            if cluster is not None:
                cluster.close()

    # pure=False: two sweeps submitting the same run are two tasks; the run locks decide who computes.
    executor = client.get_executor(pure=False)
    executor.hierpoly_address = address  # type: ignore[attr-defined]
    return executor, close


def in_flight_limit(executor: cf.Executor) -> int:
    """How many tasks a sweep keeps submitted at once: 1 in-process (each run stored before the
    next starts), twice the worker slots for a thread/process pool or a Dask client (no slot idles
    while a result travels back), otherwise unbounded (a batch scheduler queues everything)."""
    if isinstance(executor, InProcessExecutor):
        return 1
    slots = getattr(executor, "_max_workers", None)  # ThreadPoolExecutor, ProcessPoolExecutor
    client = getattr(executor, "_client", None)  # distributed.cfexecutor.ClientExecutor
    if client is not None and hasattr(client, "nthreads"):
        slots = sum(client.nthreads().values()) or 1
    return 2 * slots if slots else sys.maxsize


# ---- the process-wide default ----------------------------------------------------------------

def _close_nothing() -> None:
    pass


@dataclass
class _DefaultState:
    """The default executor: ``spec`` opened on first use (``executor``, shut by ``close``), or an
    executor set directly (whose owner closes it)."""

    spec: ExecutorSpec = ExecutorSpec("inprocess")
    executor: cf.Executor | None = None
    close: Callable[[], None] = _close_nothing


_default = _DefaultState()


def default_executor() -> cf.Executor:
    """The executor ``run_sweep`` uses when it is given none (opened on first use)."""
    if _default.executor is None:
        _default.executor, _default.close = open_executor(_default.spec)
    return _default.executor


def set_default_executor(spec: ExecutorSpec | str | None, *, start: bool = False) -> ExecutorSpec:
    """Make ``spec`` the default (closing the previous one); ``start`` opens it now, else on first use."""
    spec = spec if isinstance(spec, ExecutorSpec) else parse_executor_spec(spec)
    close_default_executor()
    _default.spec = spec
    if start:
        default_executor()
    return spec


def close_default_executor() -> None:
    """Shut the default executor down (the next use opens its spec again)."""
    close, _default.executor, _default.close = _default.close, None, _close_nothing
    close()


@contextlib.contextmanager
def _swapped_default(state: _DefaultState) -> Iterator[None]:
    global _default
    previous, _default = _default, state
    try:
        yield
    finally:
        _default = previous


@contextlib.contextmanager
def use_executor(executor: cf.Executor) -> Iterator[cf.Executor]:
    """Within the block, sweeps given no executor use ``executor`` (which the caller owns)."""
    with _swapped_default(_DefaultState(executor=executor)):
        yield executor


# ---- pytest -------------------------------------------------------------------------------------

def add_executor_option(parser) -> None:
    """Add ``--executor`` to the hierpoly option group."""
    parser.getgroup("hierpoly").addoption(
        "--executor", default=None,
        help=f"where training sweeps run: {_USAGE} (default: ${EXECUTOR_ENV} or inprocess)")


def configure_pytest(config) -> None:
    """Set the default executor from ``--executor`` / ``$HIERPOLY_EXECUTOR`` for this pytest run (an
    xdist worker takes the controller's, so a dask-local cluster is started once), and at
    unconfigure close it and put back the one before (a pytester run inside a run leaves the outer
    run's executor alone)."""
    import pytest

    workerinput = getattr(config, "workerinput", None)
    text = config.getoption("executor", None) or os.environ.get(EXECUTOR_ENV)
    if workerinput is not None and _WORKERINPUT_KEY in workerinput:
        text = workerinput[_WORKERINPUT_KEY]
    try:
        spec = parse_executor_spec(text)
    except ExecutorSpecError as exc:
        raise pytest.UsageError(str(exc)) from None
    swap = _swapped_default(_DefaultState(spec=spec))
    swap.__enter__()
    try:
        # Started now, so that a bad scheduler address stops the run before any test, and a
        # dask-local cluster is started once, by the xdist controller.
        executor = default_executor()
    except ExecutorSpecError as exc:
        swap.__exit__(None, None, None)
        raise pytest.UsageError(str(exc)) from None
    worker_spec = str(spec)
    if spec.kind == "dask-local":
        worker_spec = "dask://" + executor.hierpoly_address.removeprefix("tcp://")  # type: ignore[attr-defined]

    class ExecutorPlugin:
        @pytest.hookimpl(optionalhook=True)
        def pytest_configure_node(self, node) -> None:  # xdist: one cluster serves every worker
            node.workerinput[_WORKERINPUT_KEY] = worker_spec

        def pytest_unconfigure(self, config) -> None:
            try:
                close_default_executor()
            finally:
                swap.__exit__(None, None, None)

    config.pluginmanager.register(ExecutorPlugin(), "hierpoly-executor")


# ==== one accelerator shared by many workers ==============================================================

DEVICE_SLOTS_ENV = "HIERPOLY_DEVICE_SLOTS"
DEVICE_LOCK_DIR_ENV = "HIERPOLY_DEVICE_LOCK_DIR"
# Runs that compute on one CUDA device at once, across every process of the machine (xdist workers, local
# Dask workers). 1: under ``pytest -n auto`` on one GPU the workers queue for it instead of oversubscribing
# it (each full-tier run alone peaks at up to ~22 GB and saturates the device with its own batched matmuls;
# two at once would only interleave their kernels). CPU-only checks keep running on the other workers.
# Not yet measured on a GPU (no device was lent to this project so far); ``$HIERPOLY_DEVICE_SLOTS`` changes it.
DEFAULT_DEVICE_SLOTS = 1


def device_slots() -> int:
    """``$HIERPOLY_DEVICE_SLOTS`` (a positive integer), else DEFAULT_DEVICE_SLOTS."""
    raw = os.environ.get(DEVICE_SLOTS_ENV)
    if raw is None or raw == "":
        return DEFAULT_DEVICE_SLOTS
    if not re.fullmatch(r"[1-9][0-9]*", raw.strip()):
        raise ValueError(f"${DEVICE_SLOTS_ENV} must be a positive integer, got {raw!r}")
    return int(raw)


@contextlib.contextmanager
def device_slot(device: Any, *, poll_seconds: float = 0.05) -> Iterator[int | None]:
    """Hold one of ``device_slots()`` machine-wide slots of a CUDA device while the body runs (a
    ``fcntl.flock`` per slot file under ``$HIERPOLY_DEVICE_LOCK_DIR`` or the temp directory, released by
    the OS if the holder dies); yields the slot index. On the CPU (or any non-CUDA device) nothing is
    held and it yields None: CPU work is paced by the worker count and the one-thread-per-worker rule."""
    from checks.sweep import RunLock  # here: checks.sweep imports this module's executors lazily too

    name = str(device)
    if not name.startswith("cuda"):
        yield None
        return
    directory = Path(os.environ.get(DEVICE_LOCK_DIR_ENV) or tempfile.gettempdir()) / "hierpoly-device-locks"
    locks = [RunLock(directory / f"{name.replace(':', '-')}.slot{i}") for i in range(device_slots())]
    while True:
        for index, lock in enumerate(locks):
            if lock.acquire(blocking=False):
                try:
                    yield index
                finally:
                    lock.release()
                return
        time.sleep(poll_seconds)
