"""The open questions of Section 6 (docs/paper.md §6) as conjectures, each with its evidence.

- ``conjecture.general-tensor`` (training side; the exact Lemma-2 gap is in the Lemma 2 module):
  stage 1 on p = <A, He_3(x)> normalised, A a drawn general (non-orthogonal) symmetric tensor.
  Evidence: the exact population limit corr(P_{<=3} h, p) and the measured stage-1 corr(ĝ, p).
- ``conjecture.multi-feature``: h = g(p_1, ..., p_R). ĝ is one scalar, so stage 1 can recover at
  most one direction of span{p_r}; measured: the share of Var ĝ inside that span, and the
  direction it picks against Lemma 2's multivariate prediction (E ∂_r g)_r.
- ``conjecture.joint-training``: joint Adam training against layerwise training on the same
  targets: sample-complexity exponents side by side.

Conjectures never fail the run; their verdicts and numbers go to the report.
"""
from __future__ import annotations

import functools
import math
from typing import Any, Sequence

import numpy as np
import pytest
import sympy
import torch

from checks.audit import claim_check
from checks.rules import APPROACH_FRACTION, approach_verdict, degree_band
from checks.runs import (GRAM_RIDGE, curve_runs, fit_or_none, median_band, per_seed_curves, replicate_seeds, run_joint_sweep,
                         runner_for, stage1_runs, thresholds)
from checks.specs import build_target, section5_spec
from checks.stats import correlation_with_se
from checks.evidence import Interval, Verdict, combine
from checks.report import figure, series
from checks.seeds import derive_seed, numpy_generator
from checks.sweep import Run, run_sweep
from model.data import sample_inputs
from model.layerwise import train_layerwise
from theory.features import BlockFeature, HierarchicalTarget, Link, MultiFeatureTarget, PolynomialFeature
from theory.hermite import Z
from theory.structured import BlockType

__all__ = [
    "CONJECTURE_Z",
    "general_tensor_verdict",
    "span_verdict",
    "exponent_comparison_verdict",
]

# Conjectures gate nothing; their intervals use a fixed z (one-sided 99.9%).
CONJECTURE_Z = 3.09


def general_tensor_verdict(corr: Sequence[float], se: Sequence[float], *, population_corr: float, z: float,
                           control_corr: Sequence[float], control_se: Sequence[float], control_population_corr: float,
                           fraction: float = APPROACH_FRACTION,
                           population_fraction: float = APPROACH_FRACTION) -> tuple[Verdict, dict]:
    """Stage-1 recovery of a general-tensor p at one (d, n), against the orthogonal class (the §5
    target, the control) at the same (d, n):
    - population part (exact): ρ = corr(P_{<=3} h, p) reaches ``population_fraction`` (SUPPORTED)
      or not (INCONCLUSIVE: a finite d cannot refute an asymptotic statement);
    - measured part: the seed-median corr(ĝ, p) reaches fraction·ρ (three-way, as in Figure 2);
      a measured REFUTED counts only if the control does reach its own fraction·ρ — otherwise n is
      too small for the orthogonal class as well, and the part is INCONCLUSIVE.
    """
    population = Verdict.SUPPORTED if population_corr >= population_fraction else Verdict.INCONCLUSIVE
    measured, interval, bound = approach_verdict(corr, se, limit=population_corr, z=z, fraction=fraction)
    control, _, _ = approach_verdict(control_corr, control_se, limit=control_population_corr, z=z, fraction=fraction)
    if measured is Verdict.REFUTED and control is not Verdict.SUPPORTED:
        measured = Verdict.INCONCLUSIVE
    return combine([population, measured]), {"population_verdict": population.value, "measured_verdict": measured.value,
                                             "control_verdict": control.value, "interval": [interval.low, interval.high],
                                             "bound": bound}


def span_verdict(span_share: Sequence[float], se: Sequence[float], *, z: float,
                 fraction: float = APPROACH_FRACTION) -> tuple[Verdict, Interval]:
    """"Stage 1 recovers part of span{p_r}": the seed-median share of Var ĝ explained by the span
    reaches ``fraction`` (three-way)."""
    verdict, interval, _ = approach_verdict(span_share, se, limit=1.0, z=z, fraction=fraction)
    return verdict, interval


def exponent_comparison_verdict(joint: Interval, layerwise: Interval, *, k: float, kq: float) -> Verdict:
    """"Joint training has an exponent like the layerwise one (or better)": REFUTED when the joint
    interval lies wholly above the layerwise one, or wholly at or above the kernel exponent kq;
    SUPPORTED when the joint interval lies below kq, does not lie above the layerwise one (it
    overlaps it or lies below), and both intervals are at most kq − k wide (a wider one cannot
    tell the feature-learning exponent k from the kernel's kq); else INCONCLUSIVE."""
    if joint.low > layerwise.high or joint.low >= kq:
        return Verdict.REFUTED
    resolved = max(joint.high - joint.low, layerwise.high - layerwise.low) <= kq - k
    if joint.high < kq and resolved:  # here joint.low <= layerwise.high: it overlaps or lies below
        return Verdict.SUPPORTED
    return Verdict.INCONCLUSIVE


# ---- the checks --------------------------------------------------------------------------------

AREA = "conjectures"
CODE_VERSION = "conjectures-runs/1"
KQ_SECTION5 = 9  # k·q of the §5 target: the kernel exponent


@pytest.mark.training
@claim_check("conjecture.joint-training", target=["section5"])
def test_joint_against_layerwise(target, audit, tier, base_seed, cache_dir, device):
    """Both methods on the §5 targets: n*(d) where the seed's corr(ĝ, p) reaches
    threshold_level·ρ(d), and the exponent γ of each with its interval."""
    sizes, s5 = tier.sizes(AREA), tier.sizes("section5")
    seeds = replicate_seeds(base_seed, s5["seeds"], family="section5")
    layer_specs = {d: section5_spec(d, seed=base_seed) for d in sizes["layerwise_ds"]}
    layer_runs = [r for d, spec in layer_specs.items()
                  for r in stage1_runs(spec, ns=[max(2, round(m * d ** 3)) for m in sizes["layerwise_multiples"]],
                                       seeds=seeds, n_test=sizes["n_test"])]
    layerwise = run_sweep(runner_for(device), layer_runs, cache_dir=cache_dir,
                          code_version=CODE_VERSION, desc="joint-training: layerwise")
    specs = {d: section5_spec(d, seed=base_seed) for d in sizes["joint_ds"]}
    # the Figure 2 check's runs (identical Run specs: cache hits); visited from the other end of the grid,
    # so that when both checks run at once (xdist) the cache locks split the work between them
    joint = run_joint_sweep(specs, sizes=s5, base_seed=base_seed, cache_dir=cache_dir, device=device, reverse=True)
    rho = {d: float(build_target(spec).stage1_population_corr()) for d, spec in {**specs, **layer_specs}.items()}
    level = sizes["threshold_level"]
    # the joint curves on the seeds run at every grid point (the threshold points carry more)
    curves = {"joint": per_seed_curves(curve_runs(joint, seeds), "corr"), "layerwise": per_seed_curves(layerwise, "corr")}
    rng = numpy_generator(derive_seed(base_seed, "conjecture.joint-training/bootstrap"))
    fits, censored = {}, {}
    for method, c in curves.items():
        fits[method], censored[method] = fit_or_none(thresholds(c, {d: level * rho[d] for d in c}), rng)
    if fits["joint"] is not None and fits["layerwise"] is not None:
        verdict = exponent_comparison_verdict(fits["joint"].decision, fits["layerwise"].decision, k=3, kq=KQ_SECTION5)
        key = (f"γ joint {fits['joint'].gamma:.2f} {fits['joint'].decision} vs layerwise {fits['layerwise'].gamma:.2f} "
               f"{fits['layerwise'].decision} (kernel kq={KQ_SECTION5})")
    else:
        verdict = Verdict.INCONCLUSIVE
        key = "; ".join(f"{m}: {'γ=%.2f' % f.gamma if f else 'n* censored by the grid'}" for m, f in fits.items())
    key += "; median corr at equal n: " + ", ".join(_side_by_side(curves))
    band = degree_band(sorted(curves["joint"]), 3)
    audit.record(
        verdict=verdict,
        rule=(f"n*(d) per seed = smallest n from which the isotonic fit of corr(ĝ,p) stays >= {level:g}·ρ(d) (ρ exact, "
              "interpolated in log n); "
              "γ = OLS slope of mean log n* on log d with the hull of a seed bootstrap and a pooled t-interval "
              "(checks.estimators.fit_exponent, 95%); SUPPORTED if the joint interval lies below kq = 9 and not above the "
              "layerwise one and both are at most kq − k = 6 wide, REFUTED if it lies wholly above the layerwise one or "
              "at/above kq, else INCONCLUSIVE; a threshold censored by either grid makes it INCONCLUSIVE"),
        key_figure=key,
        parameters={"target": "section5", "joint_ds": sizes["joint_ds"], "layerwise_ds": sizes["layerwise_ds"],
                    "joint_multiples_of_d3": list(s5["multiples"]), "layerwise_multiples_of_d3": list(sizes["layerwise_multiples"]),
                    "seeds": seeds, "joint": {"m1": "d²", "m2": s5["m2"], "lr": s5["lr"], "max_steps": s5["max_steps"]},
                    "layerwise": {"m1": "2·C(d+3,3)", "stage": "1 (closed-form ridge)"}},
        measured={"population_corr": rho, "level": level,
                  "fits": {m: (f.as_dict() if f else None) for m, f in fits.items()}, "censored": censored,
                  "degree3_band_on_grid": [band.low, band.high],
                  "median_corr": {m: {str(d): dict(zip(map(str, median_band(by_seed)[0].astype(int)),
                                                        map(float, median_band(by_seed)[1])))
                                      for d, by_seed in c.items()} for m, c in curves.items()}},
        figures=[_comparison_figure(curves, rho)],
        notes=("The joint network has m1 = d² (below C(d+3,3) for d >= 4, so its first layer must move to represent p); "
               "the layerwise one has m1 = 2·C(d+3,3) fixed features. Stage-1 least squares on the §5 target is slowed by "
               "the heavy tails of h = C p³ (docs/paper.md §7), whereas Adam on the joint network fits ĝ ∝ p directly; at small d "
               "the slopes are biased low (degree-3 band on this grid given). The joint runs are the Figure 2 check's "
               "(its verdicts per d are there and under probe.figure2-small-d)."),
    )


def _side_by_side(curves) -> list[str]:
    """'d=6, n=3456: joint 0.98 vs layerwise 0.73' at the largest n both methods ran, per common d."""
    out = []
    for d in sorted(set(curves["joint"]) & set(curves["layerwise"])):
        joint_n, joint_med = median_band(curves["joint"][d])[:2]
        layer_n, layer_med = median_band(curves["layerwise"][d])[:2]
        common = sorted(set(joint_n) & set(layer_n))
        if common:
            n = common[-1]
            out.append(f"d={d}, n={int(n)}: joint {joint_med[list(joint_n).index(n)]:.3f} vs layerwise "
                       f"{layer_med[list(layer_n).index(n)]:.3f}")
    return out


def _comparison_figure(curves, rho):
    out = []
    for method, c in curves.items():
        for d, by_seed in c.items():
            ns, med, lo, hi = median_band(by_seed)
            out.append(series(f"{method}, d={d}", ns / d ** 3, med / rho[d], low=lo / rho[d], high=hi / rho[d]))
    return figure("joint-vs-layerwise", title="corr(ĝ,p)/ρ(d) against n/d³: joint Adam (m1 = d²) and layerwise stage 1",
                  xlabel="n / d³", ylabel="corr(ĝ, p) / corr(P≤3 h, p)", xscale="log", series_list=out)


def _tensor_spec(d: int, rng: np.random.Generator) -> tuple[PolynomialFeature, np.ndarray]:
    A = rng.integers(-2, 3, size=(d, d, d))
    if not A.any():
        A[0, 0, 0] = 1
    return PolynomialFeature.from_tensor(A.astype(object)), A


@pytest.mark.training
@claim_check("conjecture.general-tensor", k=[3])
def test_general_tensor_stage1(k, audit, tier, rng, seed, cache_dir, device):
    """p = <A, He_3(x)> normalised, A with i.i.d. integer entries in [−2, 2] (drawn from the test's
    seed), g = z³: the exact stage-1 limit ρ(A) and the measured stage-1 corr at n = C·C(d+3,3)."""
    sizes = tier.sizes(AREA)
    z, level = CONJECTURE_Z, sizes["threshold_level"]
    rows, verdicts = [], []
    seeds = replicate_seeds(seed, sizes["seeds"], family="")  # runs of this check alone
    for d in sizes["tensor_ds"]:
        feature, A = _tensor_spec(d, rng)
        target = HierarchicalTarget(feature, Link(Z ** 3))
        rho = float(target.stage1_population_corr())
        gap = float(sympy.sqrt(target.stein_gap2() / target.norm2()))
        n = sizes["tensor_n_multiple"] * math.comb(d + k, k)
        results = run_sweep(functools.partial(_tensor_run, device=str(device)),
                            [Run(method="stage1", d=d, n=n, seed=s, config={"A": A.tolist(), "n_test": sizes["n_test"]})
                             for s in seeds], cache_dir=cache_dir, code_version=CODE_VERSION, desc=f"general tensor d={d}")
        corr, se = results.column("corr"), results.column("corr_se")
        control_spec = section5_spec(d, seed=seed)
        control = run_sweep(runner_for(device),
                            stage1_runs(control_spec, ns=[n], seeds=seeds, n_test=sizes["n_test"]), cache_dir=cache_dir,
                            code_version=CODE_VERSION, desc=f"general tensor control d={d}")
        control_target = build_target(control_spec)
        orthogonal = float(control_target.stage1_population_corr())
        verdict, details = general_tensor_verdict(corr, se, population_corr=rho, z=z, control_corr=control.column("corr"),
                                                  control_se=control.column("corr_se"), control_population_corr=orthogonal,
                                                  fraction=level)
        verdicts.append(verdict)
        rows.append({"d": d, "n": n, "population_corr": rho, "relative_stein_gap": gap, "corr": corr, "corr_se": se,
                     "section5_population_corr": orthogonal, "section5_corr": control.column("corr"),
                     "section5_relative_stein_gap": float(sympy.sqrt(control_target.stein_gap2() / control_target.norm2())),
                     "verdict": verdict.value, **details})
    worst = min(rows, key=lambda r: float(np.median(r["corr"])) / r["population_corr"])
    audit.record(
        verdict=combine(verdicts),
        rule=(f"per d: exact ρ(A) = corr(P≤3 h, p) >= {APPROACH_FRACTION:g} (else INCONCLUSIVE: a finite d cannot refute "
              f"an asymptotic conjecture), and the seed-median stage-1 corr(ĝ,p) reaches {level:g}·ρ(A) "
              f"(three-way on median ± {z:g}·max SE); a shortfall counts as REFUTED only if the orthogonal §5 target "
              "reaches its own level at the same d and n (else INCONCLUSIVE: n too small for both)"),
        key_figure=(f"d={worst['d']}: ρ(A)={worst['population_corr']:.3f}, median corr {np.median(worst['corr']):.3f} "
                    f"(orthogonal §5: ρ={worst['section5_population_corr']:.3f}, corr {np.median(worst['section5_corr']):.3f}); "
                    f"Stein gap/||h|| {worst['relative_stein_gap']:.3f} (§5: {worst['section5_relative_stein_gap']:.3f})"),
        parameters={"k": k, "ds": sizes["tensor_ds"], "entries": "i.i.d. uniform integers in [-2, 2]", "link": "g = z³",
                    "n_multiple_of_C(d+3,3)": sizes["tensor_n_multiple"], "seeds": seeds},
        measured={"per_d": rows},
        notes=(f"Level {level:g}, not {APPROACH_FRACTION:g}, for the measured part (as the Theorem 1 checks do for k = 3): "
               "stage-1 least squares on these heavy-tailed targets has not reached 0.9·ρ by 128·C(d+3,3) even for the "
               "orthogonal §5 target, measured here beside it. The exact side expands g∘p naively "
               "(theory.features.PolynomialFeature), so d stays small."),
    )


def _tensor_run(run: Run, *, device: str = "cpu") -> dict[str, Any]:
    """Stage 1 on the general-tensor target of ``run.config['A']`` (g = z³), Gaussian inputs."""
    feature = PolynomialFeature.from_tensor(np.array(run.config["A"], dtype=object))
    target = HierarchicalTarget(feature, Link(Z ** 3))
    D = math.comb(run.d + 3, 3)
    gen = torch.Generator(device=torch.device(device).type).manual_seed(run.seed)
    model, _ = train_layerwise(target, d=run.d, n1=run.n, n2=0, m1=2 * D, m2=1, ridge1=GRAM_RIDGE * D / run.n,
                               ridge2=0.0, generator=gen, sigma1="hermite", device=device)
    x = sample_inputs(run.config["n_test"], run.d, generator=torch.Generator().manual_seed(derive_seed(run.seed, "test")))
    with torch.no_grad():
        g_hat = model.feature(x.to(device)).to("cpu", torch.float64).numpy()
    corr, se = correlation_with_se(g_hat, np.asarray(feature.evaluate(x.numpy())))
    return {"corr": corr, "corr_se": se}


# g(z1, z2) = z1 + 2 z2 + z1 z2: E ∂1 g = 1, E ∂2 g = 2, so Lemma 2's multivariate analogue predicts
# P_k h ≈ p1 + 2 p2 (direction (1, 2)/√5); the product term is invisible to stage 1.
MULTI_LINK = "z1 + 2*z2 + z1*z2"
MULTI_DIRECTION = (1.0, 2.0)


def _multi_target(d: int, k: int) -> MultiFeatureTarget:
    half = d // 2
    psi = BlockType.hermite(k)
    p1 = BlockFeature(psi, [1] * half, d=d, coordinates=np.arange(half)[:, None])
    p2 = BlockFeature(psi, [1] * (d - half), d=d, coordinates=np.arange(half, d)[:, None])
    z1, z2 = sympy.symbols("z1 z2")
    return MultiFeatureTarget([p1, p2], sympy.sympify(MULTI_LINK, locals={"z1": z1, "z2": z2}), [z1, z2])


def _span_metrics(g_hat: np.ndarray, features: Sequence[np.ndarray]) -> dict[str, Any]:
    """OLS of ĝ on (1, p_1, ..., p_R) over test points: the share of Var ĝ in span{p_r} (R²) with a
    delta-method SE, and the unit direction of the fitted coefficients."""
    X = np.column_stack([np.ones_like(g_hat), *features])
    coef, *_ = np.linalg.lstsq(X, g_hat, rcond=None)
    fitted = X @ coef
    r, se_r = correlation_with_se(g_hat, fitted)
    direction = coef[1:] / np.linalg.norm(coef[1:])
    return {"span_share": r * r, "span_share_se": 2 * abs(r) * se_r, "direction": direction.tolist()}


def _multi_run(run: Run, *, device: str = "cpu") -> dict[str, Any]:
    """Stage 1 on h = g(p_1, p_2) (config: k, n_test); measured: span share and direction of ĝ."""
    k = run.config["k"]
    target = _multi_target(run.d, k)
    D = math.comb(run.d + k, k)
    gen = torch.Generator(device=torch.device(device).type).manual_seed(run.seed)
    model, _ = train_layerwise(target, d=run.d, k=k, n1=run.n, n2=0, m1=2 * D, m2=1, ridge1=GRAM_RIDGE * D / run.n,
                               ridge2=0.0, generator=gen, sigma1="hermite", device=device)
    x = sample_inputs(run.config["n_test"], run.d, generator=torch.Generator().manual_seed(derive_seed(run.seed, "test")))
    with torch.no_grad():
        g_hat = model.feature(x.to(device)).to("cpu", torch.float64).numpy()
    return _span_metrics(g_hat, [np.asarray(f.evaluate(x.numpy())) for f in target.features])


@pytest.mark.training
@claim_check("conjecture.multi-feature", k=[2])
def test_multi_feature_stage1(k, audit, tier, base_seed, cache_dir, device):
    """h = p1 + 2 p2 + p1 p2 with p1, p2 on disjoint halves of the coordinates: how much of Var ĝ
    lies in span{p1, p2}, and which direction of the span stage 1 picks."""
    sizes = tier.sizes(AREA)
    d = sizes["multi_d"]
    target = _multi_target(d, k)
    n = sizes["multi_n_multiple"] * math.comb(d + k, k)
    seeds = replicate_seeds(base_seed, sizes["seeds"], family="section5")
    results = run_sweep(functools.partial(_multi_run, device=str(device)),
                        [Run(method="stage1", d=d, n=n, seed=s, config={"k": k, "n_test": sizes["n_test"]}) for s in seeds],
                        cache_dir=cache_dir, code_version=CODE_VERSION, desc="multi-feature")
    # exact population side: P≤k h against the orthonormal p1, p2 (disjoint coordinates)
    projection = target.expansion.project_le(k).centred()
    inner = [float(projection.inner(f.expansion())) for f in target.features]
    population_share = sum(v * v for v in inner) / float(projection.norm2())
    population_direction = np.array(inner) / np.linalg.norm(inner)
    predicted = np.array(MULTI_DIRECTION) / np.linalg.norm(MULTI_DIRECTION)
    share, share_se = results.column("span_share"), results.column("span_share_se")
    verdict, interval = span_verdict(share, share_se, z=CONJECTURE_Z)
    directions = np.array(results.column("direction"))
    cosines = directions @ predicted
    audit.record(
        verdict=verdict,
        rule=(f"stage 1 recovers part of span{{p_r}}: seed-median share of Var ĝ explained by (1, p1, p2) on test points "
              f">= {APPROACH_FRACTION:g}, three-way on median ± {CONJECTURE_Z:g}·max SE (delta method)"),
        key_figure=(f"share of Var ĝ in span{{p1,p2}}: median {np.median(share):.3f} (exact for P≤{k} h: {population_share:.3f}); "
                    f"direction cos to (1,2)/√5: median {np.median(cosines):.4f}; one direction only (ĝ is a scalar)"),
        interval=interval,
        parameters={"k": k, "d": d, "n": n, "link": MULTI_LINK, "seeds": seeds,
                    "features": "p1 = Σ_{i<d/2} h_k(x_i)/√(d/2), p2 the same on the other half"},
        measured={"span_share": share, "span_share_se": share_se, "directions": directions.tolist(),
                  "cos_to_lemma2_direction": cosines.tolist(), "population_span_share": population_share,
                  "population_direction": population_direction.tolist(), "lemma2_direction": predicted.tolist()},
        notes=("The multivariate Stein heuristic P_k h ≈ Σ_r E[∂_r g]·p_r gives the direction (1, 2)/√5; stage 1 learns that "
               "one combination and nothing of the product p1·p2, so a scalar bottleneck cannot represent g(p1, p2): "
               "stage 2 would plateau. At most one direction of the R = 2 dimensional span is recovered."),
    )
