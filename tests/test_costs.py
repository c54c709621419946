"""The cost model (checks/costs.py): it runs on both tiers, it grows with every size it reads, and
``python -m checks.tiers --estimate`` prints it. No timing is asserted (speed lives in benchmarks)."""
from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest

from checks.costs import H200_ASSUMED, Machine, Work, check_costs, estimate, joint_work, kernel_work, stage1_work
from checks.tiers import SIZES, TIERS

# A fixed machine: the tests must not depend on a calibration of the machine they run on.
TEST_CPU = Machine("test CPU", flop_rate=4e10, element_rate=1e9, launch_seconds=4e-6, memory_bytes=2.5e10)
MACHINES = [H200_ASSUMED, TEST_CPU]


@pytest.mark.parametrize("tier", TIERS)
def test_the_estimate_covers_every_training_check_with_positive_finite_times(tier):
    result = estimate(tier, MACHINES)
    assert {"experiment.figure2", "kernel.lower-bound[sweep]", "conjecture.joint-training"} <= {
        r["check"] for r in result["checks"]}
    for row in result["checks"]:
        for seconds in row["seconds"].values():
            assert 0 < seconds < float("inf"), row["check"]
    for machine in MACHINES:
        assert result["total_seconds"][machine.name] + result["beside_seconds"][machine.name] == pytest.approx(
            sum(r["seconds"][machine.name] for r in result["checks"]))


def test_batching_shares_launches_and_pays_only_padding():
    from checks.runs import JOINT_BATCH_SPAN
    for tier in TIERS:
        sizes = {area: per_tier[tier] for area, per_tier in SIZES.items()}
        loop, batched = check_costs(sizes, batched=False), check_costs(sizes, batched=True)
        a, b = loop["experiment.figure2"], batched["experiment.figure2"]
        assert b.launches <= a.launches / sizes["section5"]["seeds"] * (1 + 1e-9)
        if sizes["section5"]["batch_size"] is None:   # one batch per grid point: no padding
            assert (a.flops, a.elements) == (b.flops, b.elements)
        else:                                          # the n of a band pad to its top
            assert a.flops <= b.flops <= JOINT_BATCH_SPAN * a.flops


# (area, key, how to enlarge it): each must raise the predicted time of some check and lower none.
ENLARGEMENTS = [
    ("section5", "ds", lambda v: [*v, v[-1] + 8]),
    ("section5", "seeds", lambda v: v + 3),
    ("section5", "threshold_seeds", lambda v: v + 3),
    ("section5", "max_steps", lambda v: 2 * v),
    ("section5", "m2", lambda v: 2 * v),
    ("section5", "n_test", lambda v: 2 * v),
    ("section5", "multiples", lambda v: [*v, 4 * v[-1]]),
    ("theorem1", "k3_ds", lambda v: [*v, v[-1] + 4]),
    ("theorem1", "seeds", lambda v: v + 2),
    ("theorem1", "n2", lambda v: 2 * v),
    ("theorem1", "kernel_d", lambda v: v + 8),
    ("theorem1", "kernel_rf_width", lambda v: 2 * v),
    ("model", "seeds", lambda v: v + 2),
    ("probes_training", "n_multiple", lambda v: 2 * v),
    ("conjectures", "layerwise_ds", lambda v: [*v, v[-1] + 2]),
]


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("area,key,enlarge", ENLARGEMENTS, ids=[f"{a}.{k}" for a, k, _ in ENLARGEMENTS])
def test_the_estimate_is_monotone_in_the_sizes(tier, area, key, enlarge):
    bigger = copy.deepcopy(SIZES)
    bigger[area][tier][key] = enlarge(bigger[area][tier][key])
    for machine in MACHINES:
        before = {r["check"]: r["seconds"][machine.name] for r in estimate(tier, [machine])["checks"]}
        after = {r["check"]: r["seconds"][machine.name] for r in estimate(tier, [machine], sizes=bigger)["checks"]}
        assert all(after[c] >= before[c] for c in before), (area, key)
        assert any(after[c] > before[c] for c in before), f"{area}.{key} changes no predicted time"


def test_the_run_costs_grow_with_their_sizes():
    base = dict(d=8, n=4096, m1=64, m2=100, steps=100, eval_every=10, batch_size=None, n_test=1024)
    for key in ("d", "n", "m1", "m2", "steps", "n_test"):
        more = dict(base, **{key: 2 * base[key]})
        assert TEST_CPU.seconds(joint_work(**more)) > TEST_CPU.seconds(joint_work(**base)), key
    assert TEST_CPU.seconds(kernel_work(d=8, n=2000, n_test=100)) > TEST_CPU.seconds(kernel_work(d=8, n=1000, n_test=100))
    assert stage1_work(d=8, n=4000, m1=300, k=3, n_test=10).flops > stage1_work(d=8, n=2000, m1=300, k=3, n_test=10).flops
    assert (Work(1, 2, 3, 4) + Work(1, 1, 1, 9)) == Work(2, 3, 4, 9) and Work(1, 2, 3, 4).times(2) == Work(2, 4, 6, 4)


@pytest.mark.parametrize("tier", TIERS)
def test_python_m_checks_tiers_estimate_prints_every_check_and_a_total(tier):
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-m", "checks.tiers", "--estimate", tier], cwd=root, capture_output=True,
                         text=True, timeout=300, check=True).stdout
    assert f"predicted time of the {tier} tier" in out and "experiment.figure2" in out
    assert out.splitlines()[-3].startswith("total") and "beside" in out.splitlines()[-2]
