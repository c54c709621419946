"""A cost model of the training checks: predicted seconds per check from the sizes of a tier.

Every training run is reduced to three counts (:class:`Work`):

- ``flops``: the floating-point operations of its matmuls, Grams and Cholesky factorisations
  (2 per multiply-add; a Cholesky of order m: m³/3);
- ``elements``: the elements its memory-bound elementwise kernels read and write (activations,
  their gradients, Adam's updates), which bound it by memory bandwidth rather than FLOP/s;
- ``launches``: the kernels it starts (one per torch operation), whose fixed overhead dominates
  small runs on a GPU.

A :class:`Machine` turns work into seconds: ``flops / flop_rate + elements / element_rate +
launches · launch_seconds``, a roofline without overlap (an upper-side estimate). The CPU machine
is calibrated here (:func:`calibrate`: a large float32 matmul, then the launch cost and element
rate refitted on two short joint-training runs; stored in ``benchmarks/cost_calibration.json``),
so the joint runs' predictions are tied to measured training; the GPU is an assumed
H200-class one (:data:`H200_ASSUMED`: 60 TFLOP/s float32, 4.8 TB/s, 10 µs per launch, 140 GB)
until a run on one calibrates it (``python -m checks.costs --calibrate --device cuda``).

The runs of a check follow its grid in ``checks/tiers.py`` (``SIZES``) as the checks build it
(``checks/runs.py``): joint Adam runs at their ``max_steps`` (an upper bound: the stopping rule
may end them earlier), layerwise runs (stage-1 features, Gram and Cholesky, stage 2), kernel ridge
(n×n Gram and Cholesky), random features, and the test-set predictions. Runs that two checks
share through the cache are counted once, with the first check that needs them. The exact checks
(``theory``, ``lemma2``: sympy on the CPU) are outside the model.

    python -m checks.tiers --estimate full          # per-check predicted time on the assumed GPU and the CPU
    python -m checks.costs --calibrate              # re-measure this CPU
"""
from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Mapping

__all__ = ["Work", "Machine", "H200_ASSUMED", "CALIBRATION_FILE", "calibrate", "cpu_machine", "joint_work",
           "stage1_work", "layerwise_work", "kernel_work", "random_features_work", "one_step_work", "stage2_work",
           "check_costs", "estimate", "format_estimate", "main"]

CALIBRATION_FILE = Path(__file__).resolve().parent.parent / "benchmarks" / "cost_calibration.json"
FLOAT32, FLOAT64 = 4, 8


@dataclass(frozen=True)
class Work:
    """What a computation costs: matmul FLOPs, elementwise elements, kernel launches, and the
    largest working set in bytes (its peak memory, roughly)."""

    flops: float = 0.0
    elements: float = 0.0
    launches: float = 0.0
    peak_bytes: float = 0.0

    def __add__(self, other: "Work") -> "Work":
        return Work(self.flops + other.flops, self.elements + other.elements, self.launches + other.launches,
                    max(self.peak_bytes, other.peak_bytes))

    def times(self, count: float) -> "Work":
        """``count`` repetitions (the peak memory is that of one)."""
        return Work(self.flops * count, self.elements * count, self.launches * count, self.peak_bytes)


@dataclass(frozen=True)
class Machine:
    """Rates of a device: matmul FLOP/s, elementwise elements/s, seconds per launch, memory bytes."""

    name: str
    flop_rate: float
    element_rate: float
    launch_seconds: float
    memory_bytes: float
    measured: bool = False

    def seconds(self, work: Work) -> float:
        return work.flops / self.flop_rate + work.elements / self.element_rate + work.launches * self.launch_seconds


# 60 TFLOP/s float32 (dense, no tensor cores), 4.8 TB/s read+write at 8 bytes per float32 element
# touched (one read, one write), 10 µs per launch from Python with its dispatch, 140 GB.
H200_ASSUMED = Machine("H200-class GPU (assumed)", 60e12, 4.8e12 / 8, 10e-6, 140e9)


def _best_seconds(fn: Callable[[], object], sync: Callable[[], None], repeats: int) -> float:
    best = math.inf
    for _ in range(repeats):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        best = min(best, time.perf_counter() - t0)
    return best


def calibrate(device: str = "cpu", *, size: int = 1024, elements: int = 1 << 22, launches: int = 2000,
              repeats: int = 5) -> Machine:
    """Measure a device: float32 matmul FLOP/s (size³ square product), elementwise elements/s (a
    product of two ``elements``-long float32 vectors: 3 elements touched each), and the seconds of
    one launch (a one-element addition, ``launches`` times), best of ``repeats``; then refit the
    launch cost and the element rate on two short joint-training runs (see
    :func:`_calibrate_on_joint_training`)."""
    import torch

    dev = torch.device(device)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    gen = torch.Generator(device=dev.type).manual_seed(0)
    a = torch.randn(size, size, generator=gen, device=dev)
    b = torch.randn(size, size, generator=gen, device=dev)
    u = torch.randn(elements, generator=gen, device=dev)
    v = torch.randn(elements, generator=gen, device=dev)
    one = torch.zeros(1, device=dev)

    def many_launches():
        x = one
        for _ in range(launches):
            x = x + 1.0
        return x

    flop_rate = 2 * size ** 3 / _best_seconds(lambda: a @ b, sync, repeats)
    element_rate = 3 * elements / _best_seconds(lambda: u * v, sync, repeats)
    launch = _best_seconds(many_launches, sync, repeats) / launches
    memory = torch.cuda.get_device_properties(dev).total_memory if dev.type == "cuda" else _host_memory()
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    primitives = Machine(f"{name} (measured)", flop_rate, element_rate, launch, float(memory), measured=True)
    return _calibrate_on_joint_training(primitives, dev, sync)


def _calibrate_on_joint_training(primitives: Machine, device, sync) -> Machine:
    """Refit the launch cost and the element rate on real joint training (``model.batched``):
    a tiny run is all launches (autograd and Python dispatch cost far more than a bare one-element
    addition), and a wide one is mostly elementwise work. Each rate is solved from its run's time
    given the other rates; a fit that comes out non-positive keeps the primitive rate."""
    import numpy as np
    import torch

    from model.batched import train_joint_batch
    from model.joint import StoppingRule
    from theory.features import section5_target

    def timed_run(d: int, n: int, m1: int, m2: int, steps: int) -> tuple[float, Work]:
        target = section5_target(d, rng=np.random.default_rng(0))
        rule = StoppingRule(max_steps=steps, eval_every=steps, patience=steps)

        def train():
            train_joint_batch(target, d=d, ns=[n], m1=m1, m2=m2, generators=[torch.Generator(device=device.type)],
                              lr=1e-3, stopping=rule, device=device, dtype=torch.float32)

        work = joint_work(d=d, n=n, m1=m1, m2=m2, steps=steps, eval_every=steps, batch_size=None, n_test=1)
        return _best_seconds(train, sync, 2), work

    seconds, work = timed_run(2, 8, 4, 4, 200)
    launch = (seconds - work.flops / primitives.flop_rate - work.elements / primitives.element_rate) / work.launches
    launch = launch if launch > primitives.launch_seconds else primitives.launch_seconds
    seconds, work = timed_run(8, 8192, 64, 100, 10)
    rest = seconds - work.flops / primitives.flop_rate - work.launches * launch
    element_rate = work.elements / rest if rest > 0 else primitives.element_rate
    return Machine(primitives.name.replace("(measured)", "(measured on joint training)"), primitives.flop_rate,
                   element_rate, launch, primitives.memory_bytes, measured=True)


def _host_memory() -> float:
    try:
        import os

        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return math.nan


def cpu_machine(path: Path = CALIBRATION_FILE) -> Machine:
    """The calibrated CPU from ``path``, measuring (and storing) it when the file is missing."""
    try:
        return Machine(**json.loads(Path(path).read_text())["cpu"])
    except (FileNotFoundError, KeyError, TypeError, ValueError):
        machine = calibrate("cpu")
        _store(path, "cpu", machine)
        return machine


def _store(path: Path, key: str, machine: Machine) -> None:
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        doc = {}
    doc[key] = asdict(machine)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")


# ==== work of one run per family ==========================================================================

def _forward_network(rows: float, d: int, m1: int, m2: int, k: int, width: int) -> Work:
    """One forward pass of network (1) on ``rows`` inputs: Vx + s (2·d·m1 per row), σ1 by Horner
    (k kernels over m1), ĝ = Φu, the ReLU link over m2, f = Ψc + ĝ."""
    return Work(flops=2 * rows * (d * m1 + m1 + m2), elements=rows * (m1 * (k + 2) + 3 * m2), launches=8 + k,
                peak_bytes=rows * (d + 2 * m1 + 2 * m2) * width)


def joint_work(*, d: int, n: int, m1: int, m2: int, steps: int, eval_every: int, batch_size: int | None,
               n_test: int, k: int = 3, width: int = FLOAT32, batched_with: int = 1, padded_n: int | None = None) -> Work:
    """One joint Adam run (``train_joint``) for ``steps`` steps: per step a forward pass on the
    batch, a backward pass (∂V = ∂Zᵀx: 2·rows·d·m1, ∂u, ∂c, the elementwise chain: about twice
    the forward's elements and launches), Adam on the 2·m1 + d·m1 + 4·m2 parameters (about 12
    elements and 5 launches per tensor); the full loss every ``eval_every`` steps; the test set.
    ``batched_with``: the runs trained as one stacked model (``model.batched``) share its launches;
    ``padded_n``: the largest n among them (data pad to it: full-batch steps and evaluations see it)."""
    padded = max(n, padded_n or n)
    rows = padded if batch_size is None or batch_size >= n else batch_size
    forward = _forward_network(rows, d, m1, m2, k, width)
    params = d * m1 + 2 * m1 + 3 * m2
    backward = Work(flops=2 * rows * (d * m1 + m1 + m2), elements=2 * forward.elements, launches=2 * forward.launches)
    adam = Work(elements=12 * params, launches=5 * 6)
    evaluation = _forward_network(padded, d, m1, m2, k, width)
    test = _forward_network(n_test, d, m1, m2, k, FLOAT64)
    data = Work(elements=n * (d + 1), launches=10, peak_bytes=n * (d + 1) * width)
    total = (forward + backward + adam).times(steps) + evaluation.times(steps / eval_every) + test + data
    return Work(total.flops, total.elements, total.launches / batched_with, total.peak_bytes)


def stage1_work(*, d: int, n: int, m1: int, k: int, n_test: int) -> Work:
    """Stage 1 in closed form (float64): the features (2·n·d·m1 and k Horner passes), the Gram
    on the smaller side (primal 2·n·m1², dual 2·n²·m1) and its Cholesky, then the test features."""
    features = Work(flops=2 * n * d * m1, elements=n * m1 * (k + 2), launches=10 + k, peak_bytes=n * m1 * FLOAT64)
    side = min(n, m1)
    gram = Work(flops=2 * n * m1 * side + side ** 3 / 3 + 4 * n * m1, elements=side * side, launches=12,
                peak_bytes=(side * side + n * m1) * FLOAT64)
    test = Work(flops=2 * n_test * (d * m1 + m1), elements=n_test * m1 * (k + 2), launches=10 + k,
                peak_bytes=n_test * m1 * FLOAT64)
    return features + gram + test


def stage2_work(*, n2: int, m2: int, n_test: int) -> Work:
    """Stage 2 in closed form: the ReLU link features, their Gram, Cholesky and the test pass."""
    side = min(n2, m2)
    return Work(flops=2 * n2 * m2 * side + side ** 3 / 3 + 2 * n_test * m2, elements=3 * (n2 + n_test) * m2,
                launches=20, peak_bytes=max(n2, n_test) * m2 * FLOAT64)


# Element passes per input coordinate to draw a Gaussian input and evaluate the §5 target's h and p
# there (theory's Hermite table in row chunks): measured 23 s on one core of this CPU for one seed of the
# stage-2 grid at d = 8192 (49 152 rows with its test set), at the calibrated 5.1e8 elements/s.
INPUT_ELEMENTS_PER_COORDINATE = 30


def input_work(n: int, d: int) -> Work:
    """Drawing n Gaussian inputs in d dimensions and evaluating the target on them (theory, float64)."""
    return Work(elements=INPUT_ELEMENTS_PER_COORDINATE * n * d, launches=10, peak_bytes=n * d * FLOAT64)


def layerwise_work(*, d: int, n1: int, n2: int, m1: int, m2: int, k: int, n_test: int) -> Work:
    """Algorithm 1: stage 1 on n1 samples, stage 2 on n2 (its features need ĝ on D2: one more pass)."""
    out = stage1_work(d=d, n=n1, m1=m1, k=k, n_test=n_test)
    if n2 > 0:
        out = out + Work(flops=2 * n2 * d * m1, elements=n2 * m1 * (k + 2), launches=10) + stage2_work(n2=n2, m2=m2, n_test=n_test)
    return out


def kernel_work(*, d: int, n: int, n_test: int) -> Work:
    """Kernel ridge: the n×n kernel (2·n²·d and a few elementwise passes), its Cholesky n³/3, and
    the n_test×n cross-kernel of the prediction."""
    return Work(flops=2 * n * n * d + n ** 3 / 3 + 2 * n_test * n * d, elements=4 * (n * n + n_test * n),
                launches=30, peak_bytes=2 * n * n * FLOAT64)


def random_features_work(*, d: int, n: int, width: int, n_test: int) -> Work:
    """Random ReLU features: features (2·n·d·w), the w×w (or n×n) Gram and Cholesky, the test pass."""
    side = min(n, width)
    return Work(flops=2 * n * d * width + 2 * n * width * side + side ** 3 / 3 + 2 * n_test * d * width,
                elements=2 * (n + n_test) * width, launches=30, peak_bytes=(n * width + side * side) * FLOAT64)


def one_step_work(*, d: int, n: int, k: int, n_test: int) -> Work:
    """One gradient step on the C(d+k, k) orthonormal Hermite features: build them (about k
    elementwise passes each) for the training and the test points, and two matrix-vector products."""
    D = math.comb(d + k, k)
    return Work(flops=2 * (n + n_test) * D, elements=(k + 1) * (n + n_test) * D, launches=20 + (n + n_test) / 8192 * 4,
                peak_bytes=8192 * D * FLOAT64)


# ==== the runs of each check at a tier ======================================================================

def _section5_figure2(sizes: Mapping, ds, batched: bool) -> Work:
    """The Figure-2 grid (``checks.runs.joint_runs``): at each d and multiple, its seed count
    (``section5_seed_count``); batched, the runs of one ``joint_batch_key`` (the seeds of a grid point,
    or of the n of one band) share their launches and pad to the band's largest n."""
    from checks.runs import joint_batch_band, section5_seed_count
    s5 = sizes["section5"]
    total = Work()
    for d in ds:
        points = [(max(2, int(round(m * d ** 3))), section5_seed_count(s5, m)) for m in s5["multiples"]]
        bands: dict[object, list[tuple[int, int]]] = {}
        for n, seeds in points:
            band = joint_batch_band(n, s5["batch_size"]) if batched else None
            bands.setdefault(("n", n) if band is None else band, []).append((n, seeds))
        for members in bands.values():
            together, top = sum(seeds for _, seeds in members), max(n for n, _ in members)
            for n, seeds in members:
                run = joint_work(d=d, n=n, m1=d * d, m2=s5["m2"], steps=s5["max_steps"], eval_every=s5["eval_every"],
                                 batch_size=s5["batch_size"], n_test=s5["n_test"],
                                 width=FLOAT32 if s5["dtype"] == "float32" else FLOAT64,
                                 batched_with=together if batched else 1, padded_n=top)
                total = total + run.times(seeds)
    return total


def _network_grid(t1: Mapping, ds, k: int, multiples, *, seeds: int, examples: int = 1) -> Work:
    total = Work()
    for d in ds:
        D = math.comb(d + k, k)
        for multiple in multiples:
            run = layerwise_work(d=d, n1=max(2, int(round(multiple * D))), n2=t1["n2"], m1=2 * D, m2=t1["m2"], k=k,
                                 n_test=t1["n_test"])
            total = total + run.times(seeds * examples)
    return total


def _stage1_grid(d: int, k: int, ns, *, seeds: int, n_test: int, copies: int = 1) -> Work:
    D = math.comb(d + k, k)
    total = Work()
    for n in ns:
        total = total + stage1_work(d=d, n=int(n), m1=2 * D, k=k, n_test=n_test).times(seeds * copies)
    return total


def check_costs(sizes: Mapping[str, Mapping], *, batched: bool = False) -> dict[str, Work]:
    """check (claim id, with its case) -> the work of the runs it computes first, from one tier's
    sizes (``{area: SIZES[area][tier]}``); ``batched``: the seeds of a joint-training grid point
    train as one stacked model (their launches are shared)."""
    t1, s5, conj, probes, model = (sizes["theorem1"], sizes["section5"], sizes["conjectures"],
                                   sizes["probes_training"], sizes["model"])
    out: dict[str, Work] = {}
    out["experiment.figure2"] = _section5_figure2(sizes, s5["ds"], batched)
    out["theorem1.sample-complexity[section5, k=3] (+ lemma1 sweep)"] = _network_grid(
        t1, t1["k3_ds"], 3, t1["k3_multiples"], seeds=t1["seeds"])
    out["theorem1.sample-complexity[drawn, k=2]"] = _network_grid(
        t1, t1["k2_ds"], 2, t1["multiples"], seeds=t1["seeds"], examples=t1["hypothesis_examples"])
    if t1["k3_hypothesis_examples"]:
        out["theorem1.sample-complexity[drawn, k=3]"] = _network_grid(
            t1, t1["k3_ds"], 3, t1["k3_multiples"], seeds=t1["seeds"], examples=t1["k3_hypothesis_examples"])
    out["theorem1.stage2[given]"] = sum(
        ((stage2_work(n2=n2, m2=t1["m2"], n_test=t1["n_test"]) + input_work(n2, d)).times(t1["seeds"])
         for d in t1["stage2_ds"] for n2 in t1["stage2_n2"]), Work()) + sum(
        (input_work(t1["n_test"], d).times(t1["seeds"]) for d in t1["stage2_ds"]), Work())
    out["corollary.quadratic"] = _network_grid(t1, t1["corollary_ds"], 2, t1["multiples"], seeds=t1["seeds"]) + sum(
        (one_step_work(d=d, n=int(m * math.comb(d + 2, 2)), k=2, n_test=t1["n_test"]).times(t1["seeds"])
         for d in t1["corollary_ds"] for m in t1["onestep_multiples"]), Work())
    d, D = t1["kernel_d"], math.comb(t1["kernel_d"] + 2, 2)
    n1 = int(round(t1["kernel_multiple"] * D))
    n_total = n1 + t1["n2"]
    out["kernel.lower-bound[C*d^k]"] = (
        _network_grid(t1, [d], 2, [t1["kernel_multiple"]], seeds=t1["kernel_seeds"])
        + kernel_work(d=d, n=n_total, n_test=t1["n_test"]).times(2 * t1["kernel_seeds"])
        + random_features_work(d=d, n=n_total, width=t1["kernel_rf_width"], n_test=t1["n_test"]).times(t1["kernel_seeds"]))
    kq = 4  # the kernel-exponent sweep: polynomial kernel of degree k·q = 4, n in units of C(d+4, 4)
    out["kernel.lower-bound[sweep]"] = sum(
        (kernel_work(d=d, n=int(round(m * math.comb(d + kq, kq))), n_test=t1["n_test"]).times(t1["kernel_exponent_seeds"])
         for d in t1["kernel_exponent_ds"] for m in t1["kernel_multiples"]), Work()) + _network_grid(
        t1, t1["kernel_exponent_ds"], 2, t1["multiples"], seeds=t1["kernel_exponent_seeds"])
    e2e = sizes["end_to_end"]
    # The end-to-end network grid ends at layer_margin·2·n_pred with n_pred from the drawn family's exact
    # constants; the quick run's two families (cubic links, amplified) had 2·n_pred ≈ 128-256·C(d+2, 2):
    # modelled as 192·C(d+2, 2), ratio √2 from C(d+2, 2)/2. Kernel: its grid to min(kernel_top·C(d+kq, kq),
    # kernel_max_n) with kq = 6 (cubic links, the costlier case).
    e2e_work = Work()
    for d in e2e["ds"]:
        D = math.comb(d + 2, 2)
        m1 = math.ceil(d ** 2.5)
        top = e2e["layer_margin"] * 192 * D
        ns = [D / 2 * math.sqrt(2) ** j for j in range(60) if D / 2 * math.sqrt(2) ** j <= top * math.sqrt(2)]
        for n in ns:
            e2e_work = e2e_work + layerwise_work(d=d, n1=int(n) // 2, n2=int(n) - int(n) // 2, m1=m1, m2=e2e["m2"], k=2,
                                                 n_test=e2e["n_test"]).times(e2e["seeds"])
        e2e_work = e2e_work + layerwise_work(d=d, n1=math.ceil(d ** 3.5) // 2, n2=math.ceil(d ** 3.5) // 2, m1=m1,
                                             m2=e2e["m2"], k=2, n_test=e2e["n_test"]).times(e2e["seeds"])
        D6 = math.comb(d + 6, 6)
        kn = [D6 / 8 * math.sqrt(2) ** j for j in range(60)]
        for n in [v for v in kn if v <= min(e2e["kernel_top"] * D6, e2e["kernel_max_n"])]:
            e2e_work = e2e_work + kernel_work(d=d, n=int(n), n_test=e2e["n_test"]).times(e2e["seeds"])
    out["theorem1.sample-complexity[end-to-end, drawn k=2]"] = e2e_work.times(e2e["hypothesis_examples"])
    for k in (2, 3):
        d = model["d_by_k"][k]
        D = math.comb(d + k, k)
        # The top n is where 4·S/(n − D − 1) reaches the resolution; S ≈ D·Var (an approximation:
        # the check computes S exactly), so top ≈ 4·D/resolution; grid factor 4.
        top = max(4 * D, 4 * D / model["resolution"])
        ns = [max(4 * D, top / 4 ** j) for j in range(model["grid_points"])]
        m1 = max(math.ceil(d ** (k + 0.5)), D)
        out[f"lemma1.stage1[k={k}] (+ probes)"] = sum(
            (stage1_work(d=d, n=int(n), m1=m1, k=k, n_test=3 * D).times(model["seeds"]) for n in ns), Work()) + \
            stage1_work(d=d, n=int(ns[0]), m1=m1, k=k, n_test=3 * D).times(2 * model["probe_seeds"])
    d, n = probes["d"], probes["n_multiple"] * math.comb(probes["d"] + 3, 3)
    out["probe.information-exponent (2 links)"] = _stage1_grid(d, 3, [n], seeds=probes["seeds"], n_test=probes["n_test"], copies=3)
    dL = probes["few_components_d"]
    out["probe.few-components (3 L)"] = _stage1_grid(dL, 3, [probes["n_multiple"] * math.comb(dL + 3, 3)],
                                                     seeds=probes["seeds"], n_test=probes["n_test"], copies=3)
    out["probe.few-samples (k = 2, 3)"] = sum(
        (_stage1_grid(dk, k, [dk ** (k - 1), probes["n_multiple"] * math.comb(dk + k, k)], seeds=probes["seeds"],
                      n_test=probes["n_test"]) for k, dk in probes["few_samples_d"].items()), Work())
    out["probe.non-gaussian (3 laws)"] = _stage1_grid(d, 3, [n], seeds=probes["seeds"], n_test=probes["n_test"], copies=3)
    extra_joint = [d for d in conj["joint_ds"] if d not in s5["ds"]]
    out["conjecture.joint-training"] = _section5_figure2(sizes, extra_joint, batched) + sum(
        (_stage1_grid(d, 3, [max(2, round(m * d ** 3)) for m in conj["layerwise_multiples"]], seeds=conj["seeds"],
                      n_test=conj["n_test"]) for d in conj["layerwise_ds"]), Work())
    out["conjecture.general-tensor[k=3]"] = sum(
        (_stage1_grid(d, 3, [conj["tensor_n_multiple"] * math.comb(d + 3, 3)], seeds=conj["seeds"], n_test=conj["n_test"],
                      copies=2) for d in conj["tensor_ds"]), Work())
    dm = conj["multi_d"]
    out["conjecture.multi-feature[k=2]"] = _stage1_grid(dm, 2, [conj["multi_n_multiple"] * math.comb(dm + 2, 2)],
                                                       seeds=conj["seeds"], n_test=conj["n_test"])
    return out


# Checks that run on the CPU on every machine (CPU-bound: input generation, a narrow ridge), beside the
# device's work rather than holding its slot; timed on the host CPU in every column.
CPU_CHECKS = ("theorem1.stage2[given]",)


def estimate(tier: str, machines: list[Machine], *, batched: bool = True,
             sizes: Mapping[str, Mapping[str, Mapping]] | None = None, host: Machine | None = None) -> dict:
    """Per check: its work and predicted seconds on each machine (``CPU_CHECKS`` on ``host``, this
    machine's calibrated CPU by default, in every column); the totals (an upper side: the CPU checks
    run beside the device's work); checks whose peak memory exceeds a machine's. ``sizes``:
    ``checks.tiers.SIZES`` by default."""
    if sizes is None:
        from checks.tiers import SIZES as sizes
    host = host or cpu_machine()
    costs = check_costs({area: per_tier[tier] for area, per_tier in sizes.items()}, batched=batched)
    rows = []
    for check, work in costs.items():
        on_cpu = check in CPU_CHECKS
        rows.append({"check": check + (" (CPU)" if on_cpu else ""), "on_cpu": on_cpu, "work": asdict(work),
                     "seconds": {m.name: (host if on_cpu else m).seconds(work) for m in machines},
                     "fits_memory": {m.name: not work.peak_bytes > (host if on_cpu else m).memory_bytes
                                     for m in machines}})
    beside = [r for r in rows if r["on_cpu"]]
    totals = {m.name: sum(r["seconds"][m.name] for r in rows if not r["on_cpu"]) for m in machines}
    return {"tier": tier, "batched": batched, "machines": [asdict(m) for m in machines], "checks": rows,
            "total_seconds": totals,
            "beside_seconds": {m.name: sum(r["seconds"][m.name] for r in beside) for m in machines},
            "not_modelled": ["theory (exact sympy, CPU)", "lemma2 (exact structured engine, CPU)", "harness"]}


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:8.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:8.1f} min"
    return f"{seconds / 3600:8.1f} h"


def format_estimate(result: Mapping) -> str:
    """The estimate as a table: one row per check, one column per machine, then the totals."""
    names = [m["name"] for m in result["machines"]]
    width = max(len(r["check"]) for r in result["checks"])
    how = "seeds of a joint grid point batched" if result["batched"] else "one run at a time"
    lines = [f"predicted time of the {result['tier']} tier ({how}; upper-side roofline; joint runs at max_steps)",
             f"{'check':{width}s}  {'TFLOP':>8s}  {'launches':>9s}  {'peak GB':>7s}  " + "  ".join(f"{n[:24]:>24s}" for n in names)]
    for r in result["checks"]:
        w = r["work"]
        cells = [_duration(r["seconds"][n]) + ("" if r["fits_memory"][n] else " (!mem)") for n in names]
        lines.append(f"{r['check']:{width}s}  {w['flops'] / 1e12:8.2f}  {w['launches']:9.3g}  {w['peak_bytes'] / 1e9:7.2f}  "
                     + "  ".join(f"{c:>24s}" for c in cells))
    lines.append(f"{'total (the (CPU) rows run beside it)':{width}s}  {'':8s}  {'':9s}  {'':7s}  "
                 + "  ".join(f"{_duration(result['total_seconds'][n]):>24s}" for n in names))
    lines.append(f"{'(CPU) rows, beside the total':{width}s}  {'':8s}  {'':9s}  {'':7s}  "
                 + "  ".join(f"{_duration(result['beside_seconds'][n]):>24s}" for n in names))
    lines.append("not modelled: " + "; ".join(result["not_modelled"]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m checks.tiers",
                                     description="Predicted time of the training checks at a tier (checks/costs.py).")
    parser.add_argument("--estimate", choices=["quick", "full"], default="full", help="the tier to estimate")
    parser.add_argument("--calibrate", action="store_true", help="re-measure this machine's CPU (and CUDA if --device cuda)")
    parser.add_argument("--device", default="cpu", help="with --calibrate: also calibrate this device (cuda)")
    parser.add_argument("--json", action="store_true", help="print the estimate as JSON")
    parser.add_argument("--loop", action="store_true", help="joint runs one at a time (default: seeds batched)")
    args = parser.parse_args(argv)
    if args.calibrate:
        _store(CALIBRATION_FILE, "cpu", calibrate("cpu"))
        if args.device != "cpu":
            _store(CALIBRATION_FILE, args.device, calibrate(args.device))
    machines = [_stored_gpu() or H200_ASSUMED, cpu_machine()]
    result = estimate(args.estimate, machines, batched=not args.loop)
    print(json.dumps(result, indent=2) if args.json else format_estimate(result))


def _stored_gpu() -> Machine | None:
    """A measured CUDA machine from the calibration file, if one was stored."""
    try:
        return Machine(**json.loads(CALIBRATION_FILE.read_text())["cuda"])
    except (FileNotFoundError, KeyError, TypeError, ValueError):
        return None


if __name__ == "__main__":
    main()
