"""The runs behind the training checks: seeds, test sets, runners, run grids and their curves.

Every check module may use this room; no check module imports another.

- Seeds: :func:`replicate_seeds` is the one replicate-seed scheme of every sweep (derived from the
  base seed only, so checks that run the same experiment share runs through the cache).
- Test sets: :func:`build_test_set` is the one builder: fresh points of an input law for a target
  spec, with h, p, the exact P_{<=j} h (Gaussian law) and Var h, memoised per process.
- Runners: :data:`RUNNERS` maps ``Run.method`` to a module-level function ``runner(run, *,
  device)`` of a plain-data run (picklable: a process pool or a Dask worker can call it);
  :func:`runner_for` binds a device. The runs' configurations are listed per runner.
- Grids: :func:`network_runs`, :func:`kernel_runs`, :func:`stage1_runs`, :func:`joint_runs`.
- Curves and their figures: :func:`per_seed_curves`, :func:`median_band`, :func:`thresholds`,
  :func:`fit_or_none`, :func:`curve_figure`, :func:`exponent_figure`.

The device is not part of a run's key: a run is the same experiment on either device (results
agree to float64 rounding).
"""
from __future__ import annotations

import functools
import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import torch
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from checks.executors import device_slot
from checks.estimators import CensoredThresholdError, ExponentFit, Threshold, fit_exponent, threshold_n
from checks.report import figure, series
from checks.seeds import derive_seed
from checks.specs import build_target
from checks.strategies import block_types, links
from checks.stats import correlation_with_se, paired_gap
from checks.sweep import Run, SweepResults, canonical_json, run_sweep
from model.baselines import fit_kernel_ridge, fit_random_features, plug_in_hermite_step
from model.data import evaluate_on, make_dataset, sample_inputs
from model.batched import train_joint_many
from model.joint import StoppingRule, train_joint
from model.layerwise import ridge_solve, train_layerwise
from model.metrics import correlation, mean_estimate, projection_values
from model.network import init_three_layer, polynomial_space_dim
from model.onestep import select_one_step_hyperparameters

__all__ = [
    "GRAM_RIDGE", "THEOREM1_RUNS", "SECTION5_RUNS",
    "replicate_seeds", "drawn_target_settings", "hierarchical_recipes", "quadratic_recipes", "TestSet", "build_test_set", "run_points_seed", "target_points_seed",
    "run_layerwise", "run_layerwise_network", "run_plug_in_hermite_step", "run_one_step_ndl", "run_kernel", "run_random_features", "run_stage2_given", "run_stage1",
    "run_joint", "run_joint_batch", "RUNNERS", "run_one", "runner_for",
    "network_runs", "kernel_runs", "stage1_runs", "section5_seed_count", "joint_runs", "run_joint_sweep", "joint_batch_band", "joint_batch_key", "curve_runs",
    "feature_and_loss_metrics",
    "per_seed_curves", "median_band", "thresholds", "fit_or_none", "curve_figure", "exponent_figure",
    "geometric_grid", "per_seed_n_star", "n_star_figure",
]

# Stage-1 ridge of every layerwise run: ΦᵀΦ + GRAM_RIDGE·C(d+k, k)·I, i.e. ξ1 = GRAM_RIDGE·C(d+k, k)/n1
# (a ridge that falls like 1/n1, so the n → ∞ limit is the least-squares one, P_{<=k} h).
GRAM_RIDGE = 1e-2
# Code versions of the shared run families (bump when what a runner computes changes).
THEOREM1_RUNS = "theorem1-runs/1"
SECTION5_RUNS = "section5-runs/1"


# ==== seeds ===============================================================================================

def replicate_seeds(base_seed: int, count: int, *, family: str) -> list[int]:
    """The run seeds of a sweep family: ``derive_seed(base_seed, f"{family}/replicate/{r}")`` for
    r < count (``f"replicate/{r}"`` when ``family`` is empty).

    Families shared by several checks derive from the base seed only, so every check that runs the
    same family shares its runs through the cache: ``"theorem1"`` (the layerwise and kernel
    sweeps), ``"section5"`` (the joint-training and stage-1 probe sweeps). A check whose runs are
    its own passes its per-test seed and ``family=""``.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ValueError(f"count must be an int >= 1, got {count!r}")
    if not isinstance(family, str) or "/" in family:
        raise ValueError(f"family must be a name without '/', got {family!r}")
    prefix = f"{family}/" if family else ""
    return [derive_seed(base_seed, f"{prefix}replicate/{r}") for r in range(count)]


def hierarchical_recipes(*, k: int):
    """Hypothesis strategy for degree-k target families (``checks.specs.recipe_spec``): ψ of degree k
    from ``block_types`` (h_k, the product of k coordinates or a general homogeneous block); g of
    degree q in {2, 3} with E g = 0, E g' != 0 (``links``); a seed for the signs λ_i = ±1."""
    return st.fixed_dictionaries({
        "psi": block_types(k=k).map(lambda psi: [[list(b), str(c)] for b, c in psi.terms]),
        "psi_name": st.just("drawn ψ"),
        "k": st.just(k),
        "link": links(min_degree=2, max_degree=3).map(lambda g: [str(c) for c in g.coefficients]),
        "signs_seed": st.integers(0, 2 ** 32 - 1),
    })


def drawn_target_settings(examples: int) -> settings:
    """Hypothesis settings of the training checks' drawn targets: ``examples`` draws, not derandomised
    (the check's explicit @seed, derived from --seed, pins them: a fresh base seed draws fresh targets
    and one seed stays reproducible), no database; fixtures, slow draws and filtered draws allowed."""
    return settings(max_examples=examples, deadline=None, derandomize=False, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                           HealthCheck.filter_too_much])


def quadratic_recipes():
    """:func:`hierarchical_recipes` at k = 2 (ψ = h_2, x_i x_j or a general quadratic block)."""
    return hierarchical_recipes(k=2)


# ==== the test-set builder ==================================================================================

@dataclass
class TestSet:
    """Fresh test points of one input law (float64, on ``x.device``): h, p, the exact P_{<=j} h for
    each requested degree j (Gaussian law only) and the normaliser Var h."""

    __test__ = False  # not a pytest test class

    x: torch.Tensor
    h: torch.Tensor
    p: torch.Tensor
    projection: dict[int, torch.Tensor]
    variance: float


_TEST_SETS: "OrderedDict[tuple, TestSet]" = OrderedDict()
_TEST_SET_MEMORY = 48


def run_points_seed(run_seed: int, d: int) -> int:
    """Seed of the points of one replicate at d (the Theorem 1 runs: shared by every n and method
    of that seed, so curves against n and comparisons between methods are paired)."""
    return derive_seed(run_seed, f"test-set/{d}")


def target_points_seed(spec: Mapping[str, Any], *, law: str, n_test: int) -> int:
    """Seed of the points of one target and law (the Section 5 runs: every run of one target is
    measured on the same points, whatever its seed)."""
    return derive_seed(0, f"section5-test-set/{law}/{n_test}/{canonical_json(dict(spec))}")


def build_test_set(spec: Mapping[str, Any], *, n_test: int, seed: int, law: str = "gaussian",
             degrees: Sequence[int] = (), variance: float | None = None, device="cpu") -> TestSet:
    """``n_test`` fresh points from ``law`` (a ``model.data`` input law), drawn on ``device`` with
    ``torch.Generator(device=...).manual_seed(seed)`` (on a GPU the points are made there, from that
    device's generator: a CUDA run's test set is a different draw than a CPU run's, as its training
    data are), for the target ``spec`` describes. The exact values h, p and P_{<=j} h come from
    ``theory`` on the CPU (float64) once per test set (memoised) and live on ``device`` beside x.

    ``degrees``: the j for which the exact P_{<=j} h is evaluated (Gaussian law only: the Hermite
    projections are Gaussian ones). ``variance``: Var h under the law when the caller knows it
    exactly; by default the exact Gaussian ``target.variance()``, or, for another law, the
    test-set variance (those laws are bounded: no heavy tail). Memoised per process.
    """
    degrees = tuple(sorted(set(int(j) for j in degrees)))
    if degrees and law != "gaussian":
        raise ValueError(f"exact projections P_<=j h are Gaussian projections; none under the {law!r} law")
    key = (canonical_json(dict(spec)), int(n_test), int(seed), law, degrees, variance, str(device))
    if key in _TEST_SETS:
        _TEST_SETS.move_to_end(key)
        return _TEST_SETS[key]
    target = build_target(spec)
    generator = torch.Generator(device=torch.device(device).type).manual_seed(seed)
    x = sample_inputs(int(n_test), spec["d"], generator=generator, law=law, device=device)
    h = evaluate_on(target, x)
    if variance is None:
        variance = float(target.variance()) if law == "gaussian" else float(h.var(unbiased=False))
    ts = TestSet(x=x, h=h, p=evaluate_on(target.feature, x),
                 projection={j: projection_values(target, x, max_degree=j) for j in degrees},
                 variance=float(variance))
    _TEST_SETS[key] = ts
    while len(_TEST_SETS) > _TEST_SET_MEMORY:
        _TEST_SETS.popitem(last=False)
    return ts


# ==== measurements on a test set ============================================================================

def _estimate(values: torch.Tensor, scale: float) -> dict[str, float]:
    return mean_estimate(values).scaled(scale).as_dict()


def _risk_metrics(prediction: torch.Tensor, ts: TestSet, plateau_degree: int | None) -> dict[str, Any]:
    """Normalised test MSE and, when a plateau degree is given, the paired (risk − plateau)."""
    err = (prediction.to(torch.float64) - ts.h).square()
    out: dict[str, Any] = {"test_mse": _estimate(err, 1 / ts.variance)}
    if plateau_degree is not None:
        reference = (ts.projection[plateau_degree] - ts.h).square()
        out["plateau_gap"] = _estimate(err - reference, 1 / ts.variance)
    return out


def _chunked_predict(predict: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, chunk: int = 1024) -> torch.Tensor:
    return torch.cat([predict(x[i:i + chunk]) for i in range(0, x.shape[0], chunk)])


def _predict_feature_and_output(model, x: torch.Tensor, *, chunk: int = 8192) -> tuple[np.ndarray, np.ndarray]:
    """(ĝ, f) at the rows of x, float64 on the CPU; f is computed from ĝ (one pass of the features)."""
    param = next(model.parameters())
    g_parts, f_parts = [], []
    with torch.no_grad():
        for i in range(0, x.shape[0], chunk):
            g_hat = model.feature(x[i:i + chunk].to(device=param.device, dtype=param.dtype))
            g_parts.append(g_hat.to("cpu", torch.float64))
            f_parts.append(model.forward_from_feature(g_hat).to("cpu", torch.float64))
    return torch.cat(g_parts).numpy(), torch.cat(f_parts).numpy()


def feature_and_loss_metrics(model, ts: TestSet, *, k: int | None = None) -> dict[str, Any]:
    """corr(ĝ, p) with its SE, the normalised test loss of f with its SE, and, where P_{<=k} h is
    in the test set (``k``, by default its only degree), the paired estimate of (loss − plateau)."""
    g_hat, f = _predict_feature_and_output(model, ts.x)
    h, p = ts.h.cpu().numpy(), ts.p.cpu().numpy()
    corr, corr_se = correlation_with_se(g_hat, p)
    err = np.square(f - h) / ts.variance
    out = {"corr": corr, "corr_se": corr_se, "loss": float(err.mean()),
           "loss_se": float(err.std(ddof=1) / math.sqrt(err.size))}
    if k is None and len(ts.projection) == 1:
        k = next(iter(ts.projection))
    if k is not None and k in ts.projection:
        reference = np.square(ts.projection[k].cpu().numpy() - h) / ts.variance
        out["loss_gap"], out["loss_gap_se"] = paired_gap(err, reference)
        out["test_plateau"] = float(reference.mean())
    return out


# ==== runners: {method: runner} ============================================================================
# Each runner is a module-level function of a plain-data Run (config: JSON data) and a device.

def _run_test_set(run: Run, degrees: Sequence[int], device) -> TestSet:
    """The test points of a run: ``config.law`` (default Gaussian) per (replicate seed, d), shared by every
    method and n of that replicate (paired comparisons), with the exact P_{<=j} h for j in ``degrees``
    (Gaussian law only; off it Var h is the test-set variance)."""
    cfg = run.config
    return build_test_set(cfg["target"], n_test=cfg["n_test"], seed=run_points_seed(run.seed, run.d),
                          law=cfg.get("law", "gaussian"), degrees=degrees, device=device)


def run_layerwise(run: Run, *, device="cpu", split: bool = False) -> dict[str, Any]:
    """Algorithm 1 (``model.layerwise.train_layerwise``, σ1 = h_k, closed-form ridges) on inputs of
    ``config.law`` (default Gaussian). Two designs, one runner:

    - ``split=False`` (method "layerwise", the Theorem 1 sweeps): stage 1 on n1 = run.n samples and a
      stage 2 on a fixed config.n2 (0: none);
    - ``split=True`` (method "layerwise-network", end to end): n samples split n1 = ⌊n/2⌋, n2 = n − n1
      (Algorithm 1's D1/D2).

    Measured on the test points of (replicate seed, d): corr(ĝ, p); on Gaussian inputs
    ||ĝ − P_{<=k} h||²/Var h (P_{<=k} h exact); with a stage 2 the test risk E(f − h)²/Var h and, given
    config.plateau_degree, the paired (risk − plateau). config: target, n_test, m1, m2, gram_ridge
    (ξ1 = gram_ridge/n1), ridge2, and optionally n2, plateau_degree, law."""
    cfg = run.config
    target = build_target(cfg["target"])
    k = int(cfg["target"]["k"])
    law = cfg.get("law", "gaussian")
    plateau_degree = cfg.get("plateau_degree")
    n1, n2 = (run.n // 2, run.n - run.n // 2) if split else (run.n, int(cfg.get("n2", 0)))
    degrees = ([k] if law == "gaussian" else []) + ([plateau_degree] if plateau_degree is not None else [])
    ts = _run_test_set(run, degrees, device)
    with torch.no_grad():
        model, info = train_layerwise(target, d=run.d, n1=n1, n2=n2, m1=cfg["m1"], m2=cfg["m2"],
                                      ridge1=cfg["gram_ridge"] / n1, ridge2=cfg["ridge2"], input_law=law,
                                      generator=torch.Generator().manual_seed(run.seed), sigma1="hermite", device=device)
        g_hat = _chunked_predict(model.feature, ts.x, 8192).to(torch.float64)
        out: dict[str, Any] = {"corr": correlation(g_hat, ts.p)}
        if law == "gaussian":
            out["projection_error"] = _estimate((g_hat - ts.projection[k]).square(), 1 / ts.variance)
        if n2 > 0:
            out.update(_risk_metrics(_chunked_predict(model, ts.x, 8192), ts, plateau_degree))
    return {**out, "seconds": info["seconds"], "device": str(device)}


def run_layerwise_network(run: Run, *, device="cpu") -> dict[str, Any]:
    """:func:`run_layerwise` end to end (``split=True``: n split in halves, any ``config.law``): the
    runner of method "layerwise-network" (a module-level function, so a worker can unpickle it)."""
    return run_layerwise(run, device=device, split=True)


def run_plug_in_hermite_step(run: Run, *, device="cpu") -> dict[str, Any]:
    """The plug-in baseline (``model.baselines.plug_in_hermite_step``: one unit step from 0 on the
    orthonormal Hermite features of degree <= k, Gaussian inputs): corr(ĝ, p) and
    ||ĝ − P_{<=k} h||²/Var h. config: target, n_test."""
    cfg = run.config
    target = build_target(cfg["target"])
    k = int(cfg["target"]["k"])
    ts = _run_test_set(run, [k], device)
    with torch.no_grad():
        data = make_dataset(target, run.n, d=run.d, generator=torch.Generator().manual_seed(run.seed), device=device)
        g_hat = _chunked_predict(plug_in_hermite_step(data.x, data.y, k=k), ts.x)
        out = {"corr": correlation(g_hat, ts.p),
               "projection_error": _estimate((g_hat - ts.projection[k]).square(), 1 / ts.variance)}
    out["device"] = str(device)
    return out


def _network_test_error(prediction: torch.Tensor, feature: torch.Tensor, ts: TestSet) -> dict[str, Any]:
    return {"test_mse": _estimate((prediction.to(torch.float64) - ts.h).square(), 1 / ts.variance),
            "corr": correlation(feature.to(torch.float64), ts.p)}


def run_one_step_ndl(run: Run, *, device="cpu") -> dict[str, Any]:
    """The one-step method of Nichani, Damian, Lee 2023 (``model.onestep``) on n samples of
    ``config.law``, split n1 = ⌊n/2⌋ (the step), n2 = n − n1 (the ridge), with η1 and the ridge chosen
    on a fresh validation set of ``n_validation`` points (their protocol): the test error
    E(f − h)²/Var h and corr(K̂h, p). config: target, law, n_test, n_validation, width, inner_width,
    sigma1, initial_output."""
    cfg = run.config
    target = build_target(cfg["target"])
    ts = _run_test_set(run, [], device)
    n1 = run.n // 2
    model, info = select_one_step_hyperparameters(
        target, d=run.d, n1=n1, n2=run.n - n1, width=cfg["width"], inner_width=cfg["inner_width"],
        generator=torch.Generator().manual_seed(run.seed), n_validation=cfg["n_validation"], sigma1=cfg["sigma1"],
        initial_output=cfg["initial_output"], input_law=cfg["law"], device=device)
    with torch.no_grad():
        out = _network_test_error(model(ts.x), model.feature(ts.x), ts)
    return {**out, "eta1": info["eta1"], "ridge": info["ridge"], "chosen_on_grid_edge": info["chosen_on_grid_edge"],
            "validation_mse": info["validation_normalised_mse"], "seconds": info["seconds"], "device": str(device)}


def _plateau_degrees(cfg: Mapping[str, Any]) -> list[int]:
    return [cfg["plateau_degree"]] if cfg.get("plateau_degree") is not None else []


def run_kernel(run: Run, *, device="cpu") -> dict[str, Any]:
    """Kernel ridge (``model.baselines.fit_kernel_ridge``): test risk and (risk − plateau).
    config: target, n_test, plateau_degree, kernel, kernel_params, ridge."""
    cfg = run.config
    target = build_target(cfg["target"])
    ts = _run_test_set(run, _plateau_degrees(cfg), device)
    with torch.no_grad():
        data = make_dataset(target, run.n, d=run.d, generator=torch.Generator().manual_seed(run.seed), device=device)
        model, info = fit_kernel_ridge(data.x, data.y, kernel=cfg["kernel"], ridge=cfg["ridge"], **cfg["kernel_params"])
        out = _risk_metrics(_chunked_predict(model.predict, ts.x), ts, cfg.get("plateau_degree"))
    out["seconds"] = info["seconds"]
    out["device"] = str(device)
    return out


def run_random_features(run: Run, *, device="cpu") -> dict[str, Any]:
    """Random ReLU features with a ridge (``model.baselines.fit_random_features``): test risk and
    (risk − plateau). config: target, n_test, plateau_degree, width, ridge."""
    cfg = run.config
    target = build_target(cfg["target"])
    ts = _run_test_set(run, _plateau_degrees(cfg), device)
    gen = torch.Generator().manual_seed(run.seed)
    with torch.no_grad():
        data = make_dataset(target, run.n, d=run.d, generator=gen, device=device)
        model, _ = fit_random_features(data.x, data.y, width=cfg["width"], ridge=cfg["ridge"], generator=gen)
        out = _risk_metrics(_chunked_predict(model.predict, ts.x), ts, cfg.get("plateau_degree"))
    out["device"] = str(device)
    return out


def run_stage2_given(run: Run, *, device="cpu") -> dict[str, Any]:
    """Stage 2 alone with the feature given (ĝ = p): ReLU features σ2(a·p + b) plus the skip term,
    closed-form ridge; the test risk. config: target, n_test, m2, ridge2."""
    cfg = run.config
    target = build_target(cfg["target"])
    ts = _run_test_set(run, [], device)
    gen = torch.Generator().manual_seed(run.seed)
    with torch.no_grad():
        net = init_three_layer(run.d, 1, cfg["m2"], generator=gen, k=1, device=device)
        data = make_dataset(target, run.n, d=run.d, generator=gen, device=device)
        p_train = target.feature.evaluate(data.x)
        c, _ = ridge_solve(net.link_features(p_train), data.y - p_train, cfg["ridge2"])
        out = _risk_metrics(net.link_features(ts.p) @ c + ts.p, ts, None)
    out["device"] = str(device)
    return out


def run_stage1(run: Run, *, device="cpu") -> dict[str, Any]:
    """Stage 1 of Algorithm 1 alone (closed-form ridge, σ1 = h_k, c = 0 so f = ĝ) on n samples of
    ``config.law``, measured on a fresh test set of the same law (``target_points_seed``).
    config: target, m1, gram_ridge (ξ1 = gram_ridge/n), law, n_test, variance (exact Var h under
    the law, or None)."""
    cfg = run.config
    target = build_target(cfg["target"])
    gen = torch.Generator(device=torch.device(device).type).manual_seed(run.seed)
    model, info = train_layerwise(target, d=run.d, n1=run.n, n2=0, m1=cfg["m1"], m2=1, ridge1=cfg["gram_ridge"] / run.n,
                                  ridge2=0.0, generator=gen, sigma1="hermite", input_law=cfg["law"], device=device)
    ts = _section5_test_set(cfg["target"], law=cfg["law"], n_test=cfg["n_test"], variance=cfg["variance"],
                            device=device)
    return {**feature_and_loss_metrics(model, ts), "seconds": info["seconds"]}


def _section5_test_set(spec: Mapping[str, Any], *, law: str, n_test: int, variance: float | None = None,
                       device="cpu") -> TestSet:
    """The Section 5 runs' test set: points of ``law`` per target (whatever the run's seed), drawn on
    the run's device, with the exact P_{<=k} h under the Gaussian law."""
    return build_test_set(spec, n_test=n_test, seed=target_points_seed(spec, law=law, n_test=n_test), law=law,
                          degrees=[spec["k"]] if law == "gaussian" else [], variance=variance, device=device)


def run_joint(run: Run, *, device="cpu") -> dict[str, Any]:
    """One Figure-2 run: network (1) with σ1 = z^k, μP, m1 = d², every parameter trained jointly
    with Adam on n samples (``model.joint.train_joint``), measured on a fresh Gaussian test set.
    config: target, m1, m2, lr, max_steps, eval_every, patience, batch_size (None: full batch),
    n_test, dtype."""
    cfg = run.config
    target = build_target(cfg["target"])
    stopping = StoppingRule(max_steps=cfg["max_steps"], eval_every=cfg["eval_every"], patience=cfg["patience"])
    batch = cfg["batch_size"] if cfg["batch_size"] is not None and cfg["batch_size"] < run.n else None
    gen = torch.Generator(device=torch.device(device).type).manual_seed(run.seed)
    model, info = train_joint(target, d=run.d, n=run.n, m1=cfg["m1"], m2=cfg["m2"], generator=gen,
                              sigma1="monomial", lr=cfg["lr"], batch_size=batch, stopping=stopping,
                              device=device, dtype=getattr(torch, cfg["dtype"]))
    ts = _section5_test_set(cfg["target"], law="gaussian", n_test=cfg["n_test"], device=device)
    return {**feature_and_loss_metrics(model, ts), "steps": info["steps"], "stopped_because": info["stopped_because"],
            "final_train_loss": info["final_train_loss"] / ts.variance, "seconds": info["seconds"]}


def run_joint_batch(runs: Sequence[Run], *, device="cpu") -> list[dict[str, Any]]:
    """Runs of the Figure-2 grid (same config and d; seeds, and n where :func:`joint_batch_key` groups
    them, differ) as stacked models (``model.batched.train_joint_many``): each run keeps its own generator, data and stopping rule, and
    its result equals :func:`run_joint`'s to float64 rounding (``tests/test_batched.py``), so both share
    cache entries (``run_sweep(batch_runner=...)`` caches one file per run)."""
    with device_slot(device):
        return _run_joint_batch(runs, device=device)


def _run_joint_batch(runs: Sequence[Run], *, device) -> list[dict[str, Any]]:
    calls = []
    for run in runs:
        cfg = run.config
        batch = cfg["batch_size"] if cfg["batch_size"] is not None and cfg["batch_size"] < run.n else None
        calls.append(dict(target=build_target(cfg["target"]), d=run.d, n=run.n, m1=cfg["m1"], m2=cfg["m2"],
                          generator=torch.Generator(device=torch.device(device).type).manual_seed(run.seed),
                          sigma1="monomial", lr=cfg["lr"], batch_size=batch, device=device,
                          dtype=getattr(torch, cfg["dtype"]),
                          stopping=StoppingRule(max_steps=cfg["max_steps"], eval_every=cfg["eval_every"],
                                                patience=cfg["patience"])))
    out = []
    for run, (model, info) in zip(runs, train_joint_many(calls)):
        ts = _section5_test_set(run.config["target"], law="gaussian", n_test=run.config["n_test"], device=device)
        out.append({**feature_and_loss_metrics(model, ts), "steps": info["steps"],
                    "stopped_because": info["stopped_because"],
                    "final_train_loss": info["final_train_loss"] / ts.variance, "seconds": info["seconds"]})
    return out


RUNNERS: Mapping[str, Callable[..., dict[str, Any]]] = {
    "layerwise": run_layerwise,
    "plug-in-hermite-step": run_plug_in_hermite_step,
    "layerwise-network": run_layerwise_network,
    "one-step-ndl": run_one_step_ndl,
    "kernel": run_kernel,
    "random-features": run_random_features,
    "stage2-given": run_stage2_given,
    "stage1": run_stage1,
    "joint": run_joint,
}


def run_one(run: Run, *, device="cpu") -> dict[str, Any]:
    """The runner of ``run.method`` (:data:`RUNNERS`) on one run."""
    try:
        runner = RUNNERS[run.method]
    except KeyError:
        raise ValueError(f"unknown method {run.method!r}: known methods are {', '.join(sorted(RUNNERS))}") from None
    with device_slot(device):  # one CUDA device shared by every worker: queue, do not oversubscribe
        return runner(run, device=device)


def runner_for(device) -> Callable[[Run], dict[str, Any]]:
    """``run_one`` bound to a device (picklable: a partial of a module-level function)."""
    return functools.partial(run_one, device=str(device))


# ==== run grids ============================================================================================

def network_runs(specs: Mapping[int, Mapping[str, Any]], *, multiples: Sequence[float], seeds: Sequence[int],
                 sizes: Mapping[str, Any], plateau_degree: int | None = None) -> list[Run]:
    """Layerwise runs at n1 = multiple·C(d+k, k) for each d of ``specs`` (d -> target spec), with
    m1 = 2·C(d+k, k) (width beyond the dimension adds cost, not power) and GRAM_RIDGE."""
    runs = []
    for d, spec in specs.items():
        D = polynomial_space_dim(d, spec["k"])
        cfg = {"target": dict(spec), "n_test": sizes["n_test"], "m1": 2 * D, "m2": sizes["m2"],
               "gram_ridge": GRAM_RIDGE * D, "ridge2": sizes["ridge2"], "n2": sizes["n2"],
               "plateau_degree": spec["k"] if plateau_degree is None else plateau_degree}
        for multiple in multiples:
            for s in seeds:
                runs.append(Run(method="layerwise", d=d, n=max(2, int(round(multiple * D))), seed=s, config=cfg))
    return runs


def kernel_runs(spec: Mapping[str, Any], *, n: int, seeds: Sequence[int], sizes, plateau_degree: int,
                methods: Sequence[tuple[str, dict]]) -> list[Run]:
    """One run per (method, its settings) and seed at n samples: ``methods`` lists ("kernel" or
    "random-features", config entries)."""
    base = {"target": dict(spec), "n_test": sizes["n_test"], "plateau_degree": plateau_degree}
    return [Run(method=m, d=spec["d"], n=n, seed=s, config={**base, **cfg}) for m, cfg in methods for s in seeds]


def stage1_runs(spec: Mapping[str, Any], *, ns: Sequence[int], seeds: Sequence[int], n_test: int,
                law: str = "gaussian", variance: float | None = None) -> list[Run]:
    """Stage-1 runs (:func:`run_stage1`) of one target at each n and seed: m1 = 2·C(d+k, k)
    features and the GRAM_RIDGE convention of the layerwise runs."""
    D = polynomial_space_dim(spec["d"], spec["k"])
    cfg = {"target": dict(spec), "m1": 2 * D, "gram_ridge": GRAM_RIDGE * D, "law": law, "n_test": n_test,
           "variance": variance}
    return [Run(method="stage1", d=spec["d"], n=int(n), seed=s, config=cfg) for n in ns for s in seeds]


def section5_seed_count(sizes: Mapping[str, Any], multiple: float) -> int:
    """Seeds of the Figure-2 grid point n = multiple·d³: ``threshold_seeds`` where the fixed-C rule
    reads it (multiple >= ``threshold_multiple``), ``seeds`` (the curves' seeds) elsewhere."""
    at_threshold = multiple >= sizes["threshold_multiple"] * (1 - 1e-9)
    return max(sizes["seeds"], sizes["threshold_seeds"]) if at_threshold else sizes["seeds"]


def joint_runs(specs: Mapping[int, Mapping[str, Any]], *, sizes: Mapping[str, Any], base_seed: int) -> list[Run]:
    """The Figure-2 grid: n = multiple·d³ for each d of ``specs`` (d -> target spec), with
    :func:`section5_seed_count` of the "section5" replicate seeds at each point (one list: the curve
    seeds are the first ones, so a point's seeds are a prefix of the threshold points' seeds)."""
    seeds = replicate_seeds(base_seed, max(sizes["seeds"], sizes["threshold_seeds"]), family="section5")
    runs = []
    for d, spec in specs.items():
        cfg = {"target": dict(spec), "m1": d * d, "m2": sizes["m2"], "lr": sizes["lr"], "max_steps": sizes["max_steps"],
               "eval_every": sizes["eval_every"], "patience": sizes["patience"], "batch_size": sizes["batch_size"],
               "n_test": sizes["n_test"], "dtype": sizes["dtype"]}
        for multiple in sizes["multiples"]:
            for s in seeds[:section5_seed_count(sizes, multiple)]:
                runs.append(Run(method="joint", d=d, n=max(2, int(round(multiple * d ** 3))), seed=s, config=cfg))
    return runs


def run_joint_sweep(specs: Mapping[int, Mapping[str, Any]], *, sizes, base_seed: int, cache_dir,
                    device, reverse: bool = False) -> SweepResults:
    """The joint runs of the Figure-2 grid on ``specs`` (cached; :func:`joint_runs`), the seeds of each
    grid point trained as one batch (:func:`run_joint_batch`). Identical run specs in two checks are
    cache hits (the Figure 2 check and the joint-training conjecture share them). ``reverse``: visit
    the grid from its other end (rows come back in the order given either way)."""
    runs = joint_runs(specs, sizes=sizes, base_seed=base_seed)
    if reverse:  # a second check on the same grid starts at the other end (cache locks split the work)
        runs = runs[::-1]
    return run_sweep(runner_for(device), runs, cache_dir=cache_dir, code_version=SECTION5_RUNS,
                     desc=f"figure2 d={list(specs)}",
                     batch_runner=functools.partial(run_joint_batch, device=str(device)), batch_key=joint_batch_key)


# Mini-batched joint runs of one d whose n lie within this factor of each other train as one batch.
JOINT_BATCH_SPAN = 4


def joint_batch_band(n: int, batch_size: int | None) -> tuple[bool, int] | None:
    """(full batch?, the factor-``JOINT_BATCH_SPAN`` band of n relative to the mini-batch size), or
    None where every step is full batch (no mini-batch size: each grid point is its own batch)."""
    if batch_size is None:
        return None
    return n <= batch_size, math.floor(math.log(n / batch_size) / math.log(JOINT_BATCH_SPAN))


def joint_batch_key(run: Run) -> str:
    """Which joint runs train as one stacked model. Without a mini-batch size, the seeds of one grid
    point (a full-batch step sees n rows; other n would pay for padding on the CPU, where the
    quick tier runs). With one, the runs of one d and config whose n lie in the same
    :func:`joint_batch_band`: their data pad to the band's top (the full-loss evaluations, and the
    steps of full-batch runs, pay at most that factor) and one batch per band instead of per n
    divides the per-step kernel launches, which dominate small runs on a GPU, among more runs."""
    band = joint_batch_band(run.n, run.config.get("batch_size"))
    if band is None:
        return run.batch_key()
    return canonical_json({"method": run.method, "d": run.d, "config": dict(run.config), "band": list(band)})


def curve_runs(results: SweepResults, seeds: Sequence[int]) -> SweepResults:
    """The runs of ``seeds`` only: the seeds measured at every grid point, on which curves (medians,
    bands, per-seed thresholds) are read when some points carry extra seeds."""
    keep = set(seeds)
    return SweepResults(rec for rec in results if rec.run.seed in keep)


# ==== curves of a sweep ======================================================================================

Curves = dict  # d -> seed -> (n ascending, value at each n)


def per_seed_curves(results: SweepResults, value: str | Callable[[Mapping[str, Any]], float]) -> Curves:
    """d -> seed -> (n ascending, value at each n) (``SweepResults.curves`` grouped by d and seed, nested;
    d ascending); ``value`` is a result column or a function of a row."""
    out: dict[int, dict[int, tuple]] = {}
    for (d, s), curve in results.curves(value, by=("d", "seed")).items():
        out.setdefault(d, {})[s] = curve
    return {d: out[d] for d in sorted(out)}


def median_band(by_seed: Mapping[int, tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, ...]:
    """(n, median, min, max) over seeds of curves measured on one n grid."""
    ns = next(iter(by_seed.values()))[0]
    stack = np.vstack([v for _, v in by_seed.values()])
    return ns, np.median(stack, 0), stack.min(0), stack.max(0)


def thresholds(curves: Curves, levels: Mapping[int, float], *, direction: str = "increasing") -> dict[int, list[Threshold]]:
    """Per d, per seed: n* on the isotonic fit of the curve against its level (one heavy-tailed
    training set must not censor a threshold by a dip at the end of the grid)."""
    return {d: [threshold_n(ns, vals, levels[d], direction=direction, monotone=True) for ns, vals in by_seed.values()]
            for d, by_seed in curves.items()}


def fit_or_none(thresholds_by_d, rng, confidence: float = 0.95) -> tuple[ExponentFit | None, str | None]:
    """(the exponent fit of n*(d), None), or (None, why) when the grid censors a threshold."""
    try:
        return fit_exponent(thresholds_by_d, rng=rng, confidence=confidence), None
    except CensoredThresholdError as err:
        return None, str(err)


def curve_figure(name, title, ylabel, curves: Curves, *, scale: Mapping[int, float] | None = None, guide=None,
                 yscale="linear", xlabel="n1 (stage-1 samples)"):
    """Median and min–max band over seeds against n, one series per d (divided by ``scale[d]``);
    ``guide``: one guide series or a list of them (levels, plateaus)."""
    out = []
    for d, by_seed in curves.items():
        ns, med, lo, hi = median_band(by_seed)
        f = 1.0 if scale is None else scale[d]
        out.append(series(f"d={d}", ns, med / f, low=lo / f, high=hi / f))
    if guide is not None:
        out.extend(guide if isinstance(guide, list) else [guide])
    return figure(name, title=title, xlabel=xlabel, ylabel=ylabel, series_list=out, xscale="log", yscale=yscale)


def exponent_figure(name, title, fits: Mapping[str, ExponentFit], guides: Mapping[str, float]):
    """n*(d) (geometric mean over seeds) with the fitted lines and guide slopes, log-log."""
    out = []
    for label, fit in fits.items():
        ds = np.array(fit.ds, float)
        per_d = np.exp(np.array(fit.mean_log_n))
        out.append(series(f"{label}: n*(d) (geometric mean over seeds)", ds, per_d, style="points"))
        out.append(series(f"{label}: fit γ={fit.gamma:.2f}", ds, fit.line(ds)))
    first = next(iter(fits.values()))
    ds = np.array(first.ds, float)
    anchor = math.exp(first.mean_log_n[0])
    for label, slope in guides.items():
        out.append(series(label, ds, anchor * (ds / ds[0]) ** slope, style="guide"))
    return figure(name, title=title, xlabel="d", ylabel="n*", series_list=out, xscale="log", yscale="log")


def geometric_grid(start: float, ratio: float, top: float) -> list[int]:
    """Integers start, start·ratio, ... up to the first point >= ``top`` (rounded, distinct, ascending)."""
    if not (start > 0 and ratio > 1 and top > 0):
        raise ValueError(f"a geometric grid needs start > 0, ratio > 1 and top > 0, got {start}, {ratio}, {top}")
    out, n = [], float(start)
    while True:
        out.append(int(round(n)))
        if n >= top:
            return sorted(set(out))
        n *= ratio


def per_seed_n_star(curves: Curves, level: float) -> tuple[dict[int, list[Threshold]], dict[int, dict[int, float]]]:
    """n* of decreasing curves at ``level``: (per d the thresholds over seeds, d -> seed -> n* or nan
    where censored)."""
    found = thresholds(curves, {d: level for d in curves}, direction="decreasing")
    table = {d: {s: (t.n_star if not t.censored else math.nan) for s, t in zip(curves[d], found[d])} for d in curves}
    return found, table


def n_star_figure(name: str, title: str, tables: Mapping[str, Mapping[int, Mapping[int, float]]], *,
                  reference: tuple[str, Mapping[int, float]] | None, guides: Mapping[str, float], ylabel: str = "n*",
                  lower_bounds: Mapping[str, Mapping[int, float]] | None = None):
    """n*(d) per method (geometric mean over seeds, min–max band; d where a seed is censored left out),
    an exact reference curve, and guide slopes anchored at the reference (or the first method), log-log.
    ``lower_bounds``: label -> d -> the grid top where every seed of a method was censored (n* lies above)."""
    out, anchor = [], None
    for label, bounds in (lower_bounds or {}).items():
        if bounds:
            bd = sorted(bounds)
            out.append(series(f"{label}: censored, n* > its grid top", bd, [bounds[d] for d in bd], style="points"))
    for label, table in tables.items():
        ds = [d for d in sorted(table) if table[d] and all(math.isfinite(v) for v in table[d].values())]
        if not ds:
            continue
        vals = [np.array(list(table[d].values())) for d in ds]
        means = [float(np.exp(np.log(v).mean())) for v in vals]
        anchor = anchor or (ds[0], means[0])
        out.append(series(f"{label}: n*(d) (geometric mean, min–max over seeds)", ds, means,
                          low=[float(v.min()) for v in vals], high=[float(v.max()) for v in vals], style="points"))
    all_ds = sorted({d for table in tables.values() for d in table})
    if reference is not None:
        label, values = reference
        rd = sorted(values)
        out.append(series(label, rd, [values[d] for d in rd]))
        anchor = (rd[0], values[rd[0]])
    if anchor is not None:
        for label, slope in guides.items():
            out.append(series(label, all_ds, [anchor[1] * (d / anchor[0]) ** slope for d in all_ds], style="guide"))
    return figure(name, title=title, xlabel="d", ylabel=ylabel, series_list=out, xscale="log", yscale="log")
