"""Batched training (model/batched.py) against one run at a time: joint Adam (model/joint.py) and
stage 1 in closed form (model/layerwise.py).

Tolerance: float64 on the CPU. The batched path does the same arithmetic as ``train_joint`` except
for summation orders (batched matmuls, the padded mean as Σ w_i e_i², chunked full losses), so the
two differ by rounding: measured below 3e-15 relative after 200 Adam steps. We allow 1e-10
relative: far above that rounding (Adam divides by √v, which can amplify it where a gradient is
near 0), far below any real difference (a different seed, a step more or less, or another run's
data leaking in moves parameters by O(lr) = 1e-2 relative). Step counts and stopping reasons must
be equal exactly.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from model import ModelInputError, NonFiniteLossError, StoppingRule, train_joint
from model.batched import PARAMETER_NAMES, fit_stage1_batch, train_joint_batch, train_joint_many, train_stage1_batch
from model.data import make_dataset
from model.layerwise import train_layerwise
from model.network import polynomial_space_dim
from theory.features import section5_target

RELATIVE_TOLERANCE = 1e-10
D, M1, M2, LR = 3, 9, 12, 3e-2
# rel_improvement 0.1, patience 2: at these sizes the plateau stops the four runs below at
# different steps (100 to 200), so an early stop happens inside the batch.
RULE = StoppingRule(max_steps=200, eval_every=10, patience=2, rel_improvement=0.1)


@pytest.fixture(scope="module")
def target():
    return section5_target(D, rng=np.random.default_rng(0))


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _assert_same_run(batched, single) -> None:
    (net, info), (ref, ref_info) = batched, single
    assert (info["steps"], info["stopped_because"]) == (ref_info["steps"], ref_info["stopped_because"])
    assert [s for s, _ in info["history"]] == [s for s, _ in ref_info["history"]]
    for name in PARAMETER_NAMES:
        got, want = getattr(net, name).detach(), getattr(ref, name).detach()
        scale = want.abs().max().clamp_min(1e-300)
        assert float((got - want).abs().max() / scale) <= RELATIVE_TOLERANCE, name
    assert info["final_train_loss"] == pytest.approx(ref_info["final_train_loss"], rel=RELATIVE_TOLERANCE)


@pytest.mark.training
@pytest.mark.parametrize("batch_size", [None, 16], ids=["full-batch", "mini-batch"])
def test_batched_runs_equal_one_run_at_a_time_seeds_n_and_early_stops_included(target, batch_size):
    seeds, ns = [1, 2, 3, 4], [40, 40, 40, 80]  # the last run is padded past the others' n
    batched = train_joint_batch(target, d=D, ns=ns, m1=M1, m2=M2, generators=[_gen(s) for s in seeds], lr=LR,
                                stopping=RULE, batch_size=batch_size)
    steps = {info["steps"] for _, info in batched}
    assert len(steps) > 1, "the test needs a run that stops before the others"
    for (seed, n), result in zip(zip(seeds, ns), batched):
        single = train_joint(target, d=D, n=n, m1=M1, m2=M2, generator=_gen(seed), lr=LR, stopping=RULE,
                             batch_size=batch_size, sigma1="monomial")
        _assert_same_run(result, single)


@pytest.mark.training
def test_a_run_does_not_depend_on_its_batch(target):
    alone = train_joint_batch(target, d=D, ns=[40], m1=M1, m2=M2, generators=[_gen(3)], lr=LR, stopping=RULE)[0]
    among = train_joint_batch(target, d=D, ns=[80, 40, 40], m1=M1, m2=M2, generators=[_gen(9), _gen(3), _gen(8)],
                              lr=LR, stopping=RULE)[1]
    _assert_same_run(among, alone)


@pytest.mark.training
def test_train_joint_many_groups_compatible_calls_and_keeps_their_order(target):
    short = StoppingRule(max_steps=30, eval_every=10)
    common = dict(target=target, d=D, m1=M1, m2=M2, lr=LR, sigma1="monomial")

    def calls():  # fresh generators each time: a run consumes its generator
        return [dict(common, n=40, generator=_gen(1), stopping=short),
                dict(common, n=40, generator=_gen(2), stopping=StoppingRule(max_steps=20, eval_every=10)),
                dict(common, n=60, generator=_gen(3), stopping=short)]

    results = train_joint_many(calls(), max_batch=4)
    assert [info["batch"]["runs"] for _, info in results] == [2, 1, 2]
    assert [info["steps"] for _, info in results] == [30, 20, 30]
    for call, result in zip(calls(), results):
        _assert_same_run(result, train_joint(**call))


def test_bad_batches_are_refused_with_the_reason(target):
    with pytest.raises(ModelInputError, match="one n per generator"):
        train_joint_batch(target, d=D, ns=[40, 40], m1=M1, m2=M2, generators=[_gen(1)])
    with pytest.raises(ModelInputError, match="exceeds the 40 training samples"):
        train_joint_batch(target, d=D, ns=[40], m1=M1, m2=M2, generators=[_gen(1)], batch_size=41,
                          stopping=StoppingRule(max_steps=1))
    with pytest.raises(ModelInputError, match="lacks"):
        train_joint_many([dict(target=target, d=D, n=40, m1=M1, m2=M2)])


def test_a_diverging_run_is_named(target):
    """A huge learning rate diverges the runs; the error names the run by its index and n."""
    with pytest.raises(NonFiniteLossError, match=r"run \d of the batch \(n=40\)"):
        train_joint_batch(target, d=D, ns=[40, 40], m1=M1, m2=M2, generators=[_gen(1), _gen(2)], lr=1e3,
                          stopping=StoppingRule(max_steps=40, eval_every=10))


@pytest.mark.gpu
def test_batched_training_runs_on_the_gpu_and_matches_the_cpu(target):
    on_gpu = train_joint_batch(target, d=D, ns=[40, 60], m1=M1, m2=M2, generators=[_gen(1), _gen(2)], lr=LR,
                               stopping=StoppingRule(max_steps=50, eval_every=10), device="cuda")
    for seed, n, (net, _) in zip([1, 2], [40, 60], on_gpu):
        assert net.V.device.type == "cuda"
        ref, _ = train_joint(target, d=D, n=n, m1=M1, m2=M2, generator=_gen(seed), lr=LR, sigma1="monomial",
                             stopping=StoppingRule(max_steps=50, eval_every=10))
        # float64 on both devices, different BLAS orders: 50 Adam steps keep them within 1e-8.
        torch.testing.assert_close(net.V.detach().cpu(), ref.V.detach(), rtol=1e-8, atol=1e-10)


@pytest.mark.training
def test_the_batched_loop_reads_the_device_only_at_evaluations(target, monkeypatch):
    """Every read of a tensor's value on the host (item, tolist, float, bool, cpu, numpy) is
    counted during training: 60 steps with an evaluation every 20 make 3 evaluations plus the
    initial loss; the reads must not grow with the steps (a handful per evaluation at most)."""
    reads = {"count": 0}
    for name in ("item", "tolist", "__float__", "__bool__", "cpu", "numpy"):
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _original=original, **kwargs):
            reads["count"] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    nets = train_joint_batch(target, d=D, ns=[40, 40], m1=M1, m2=M2, generators=[_gen(1), _gen(2)], lr=LR,
                             stopping=StoppingRule(max_steps=60, eval_every=20, patience=100))
    monkeypatch.undo()
    assert [info["steps"] for _, info in nets] == [60, 60]
    evaluations = 3 + 1
    assert reads["count"] <= 4 * evaluations, f"{reads['count']} host reads in 60 steps"


@pytest.mark.parametrize("multiple", [4, 0.5], ids=["primal", "dual"])
def test_batched_stage1_equals_train_layerwise_one_run_at_a_time(multiple):
    """Stage 1 in closed form: the same draws and the same float64 solve, batched. Measured: equal
    bits on the primal side, 7e-16 relative on the dual; the 1e-10 budget of the module holds."""
    d = 5
    target, D = section5_target(d, rng=np.random.default_rng(0)), polynomial_space_dim(d, 3)
    n, ridge = int(multiple * D), 1e-2 * D / int(multiple * D)
    batched = train_stage1_batch(target, d=d, n1=n, m1=2 * D, ridge1=ridge, generators=[_gen(s) for s in (1, 2, 3)])
    for seed, (net, info) in zip((1, 2, 3), batched):
        ref, ref_info = train_layerwise(target, d=d, n1=n, n2=0, m1=2 * D, m2=1, ridge1=ridge, ridge2=0.0,
                                        generator=_gen(seed))
        assert info["stage1"]["solver"] == ref_info["stage1"]["solver"] == ("primal" if n >= 2 * D else "dual")
        scale = float(ref.u.detach().abs().max())
        assert float((net.u - ref.u).detach().abs().max()) <= RELATIVE_TOLERANCE * scale
        assert info["stage1"]["train_mse"] == pytest.approx(ref_info["stage1"]["train_mse"], rel=RELATIVE_TOLERANCE)


def test_a_stage1_batch_needs_one_n_and_a_positive_ridge():
    target = section5_target(3, rng=np.random.default_rng(0))
    runs = train_stage1_batch(target, d=3, n1=30, m1=20, ridge1=1e-3, generators=[_gen(1)])
    net = runs[0][0]
    data = [make_dataset(target, n, d=3, generator=_gen(5)) for n in (30, 31)]
    with pytest.raises(ModelInputError, match="one n"):
        fit_stage1_batch([net, net], data, 1e-3)
    with pytest.raises(ModelInputError, match="ridge"):
        fit_stage1_batch([net], data[:1], 0.0)
