"""One CUDA device shared by many workers (issue 14 item 5): ``checks.executors.device_slot`` lets at
most ``$HIERPOLY_DEVICE_SLOTS`` processes of the machine compute on a device at once, and holds nothing
on the CPU. Tested with real processes on the CPU: the lock does not touch the device, it only names it."""
from __future__ import annotations

import multiprocessing as mp
import time

import pytest

from checks.executors import DEFAULT_DEVICE_SLOTS, DEVICE_LOCK_DIR_ENV, DEVICE_SLOTS_ENV, device_slot, device_slots

HOLD = 0.4


def _hold(device: str, lock_dir: str, slots: str, queue, barrier) -> None:
    import os

    os.environ[DEVICE_LOCK_DIR_ENV] = lock_dir
    os.environ[DEVICE_SLOTS_ENV] = slots
    barrier.wait(timeout=60)  # all processes started (spawn imports take seconds) before any asks for a slot
    with device_slot(device) as slot:
        start = time.monotonic()
        time.sleep(HOLD)
        queue.put((slot, start, time.monotonic()))


def _intervals(tmp_path, device: str, slots: str, processes: int = 3) -> list[tuple]:
    ctx = mp.get_context("spawn")
    queue, barrier = ctx.Queue(), ctx.Barrier(processes)
    procs = [ctx.Process(target=_hold, args=(device, str(tmp_path), slots, queue, barrier)) for _ in range(processes)]
    for p in procs:
        p.start()
    out = [queue.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return sorted(out, key=lambda t: t[1])


def _most_at_once(intervals) -> int:
    events = sorted([(s, 1) for _, s, _ in intervals] + [(e, -1) for _, _, e in intervals])
    now = most = 0
    for _, step in events:
        now += step
        most = max(most, now)
    return most


def test_one_slot_serialises_the_workers_of_a_device(tmp_path):
    intervals = _intervals(tmp_path, "cuda:0", "1")
    assert _most_at_once(intervals) == 1
    assert {slot for slot, *_ in intervals} == {0}


def test_two_slots_let_two_runs_share_the_device(tmp_path):
    intervals = _intervals(tmp_path, "cuda", "2")
    assert _most_at_once(intervals) == 2


def test_the_cpu_holds_no_slot(tmp_path):
    intervals = _intervals(tmp_path, "cpu", "1")
    assert {slot for slot, *_ in intervals} == {None}
    assert _most_at_once(intervals) == 3


def test_slot_count_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv(DEVICE_SLOTS_ENV, raising=False)
    assert device_slots() == DEFAULT_DEVICE_SLOTS == 1
    monkeypatch.setenv(DEVICE_SLOTS_ENV, "3")
    assert device_slots() == 3
    for bad in ("0", "-1", "two", "1.5"):
        monkeypatch.setenv(DEVICE_SLOTS_ENV, bad)
        with pytest.raises(ValueError, match=DEVICE_SLOTS_ENV):
            device_slots()
