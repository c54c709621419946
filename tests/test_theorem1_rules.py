"""The decision rules of checks/check_theorem1.py reject planted wrong claims, and keep their
false-failure budget on planted true ones.

Each rule is the plain function the check calls. Synthetic sweeps: n*(d) = C·(growth)·e^{σZ} per
seed with the check's own grids, seeds and confidence; planted wrong exponents (k − 1, kq), a
wrong limit, a kernel below its plateau, a network stuck at its plateau, a stage 2 that grows
like d.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from checks.check_kernel import KERNEL_RECIPE, kernel_plateau_verdict, network_below_verdict, plateau_allowance
from checks.check_theorem1 import (ASYMPTOTIC_REGIME, TRACK_TOLERANCE, extrapolated_limit_verdict, growth_verdict,
                                   limit_fit, limit_verdict, seed_intercepts, simulate_tracking,
                                   tracking_verdict, two_way_spread)
from checks.power import operating_characteristic
from checks.rules import RECORD_BUDGET, Band, decision_confidence, degree_band, exponent_verdict, one_sided_z, seed_slopes
from checks.specs import build_target, recipe_spec, section5_spec, target_spec
from checks.estimators import fit_exponent
from checks.evidence import Interval, Verdict

K2_DS, K3_DS = [8, 12, 16, 24], [6, 8, 10, 12]
SEEDS = 4
CONFIDENCE = decision_confidence()


def _sweep(ds, growth, rng, *, sd=0.15, seeds=SEEDS):
    return {d: 3.0 * growth(d) * np.exp(sd * rng.standard_normal(seeds)) for d in ds}


def _verdict(ds, k, kq, growth, rng, **kw):
    fit = fit_exponent(_sweep(ds, growth, rng, **kw), rng=rng, confidence=CONFIDENCE, n_resamples=600)
    claimed, alt = degree_band(ds, k), degree_band(ds, kq)
    return exponent_verdict(fit.decision, claimed=claimed, alternative=Band(alt.low, math.inf, "kq"))[0]


@pytest.mark.parametrize("ds, k, q", [(K2_DS, 2, 2), (K3_DS, 3, 3)])
def test_exponent_rule_supports_the_dimension_count_of_degree_k(ds, k, q):
    rng = np.random.default_rng(11)
    verdicts = [_verdict(ds, k, k * q, lambda d: math.comb(d + k, k), rng, sd=0.05) for _ in range(20)]
    assert verdicts.count(Verdict.SUPPORTED) >= 18


PLANTED = {
    "C(d+k-1,k-1)": lambda d, k, q: math.comb(d + k - 1, k - 1),  # a degree-(k−1) learner: d^{k−1} at finite d
    "d^(k-1)": lambda d, k, q: d ** (k - 1),
    "C(d+kq,kq)": lambda d, k, q: math.comb(d + k * q, k * q),
    "d^kq": lambda d, k, q: d ** (k * q),
}


@pytest.mark.parametrize("ds, k, q, planted", [(K2_DS, 2, 2, p) for p in PLANTED]
                         + [(K3_DS, 3, 3, p) for p in ("C(d+k-1,k-1)", "C(d+kq,kq)", "d^kq")])
def test_exponent_rule_refutes_a_planted_wrong_exponent(ds, k, q, planted):
    # (On d = 6..12 a bare d² has slope 2, inside the d³ band's finite-size reach; the grid tells
    # a degree-2 learner, slope 1.6 there, from a degree-3 one, slope 2.4.)
    rng = np.random.default_rng(12)
    verdicts = [_verdict(ds, k, k * q, lambda d: PLANTED[planted](d, k, q), rng, sd=0.05) for _ in range(20)]
    assert verdicts.count(Verdict.REFUTED) >= 18


def test_exponent_rule_false_failures_stay_within_budget():
    # 1000 true sweeps (n* ∝ C(d+2, 2), noise as large as measured). At the budget (2e-4 a side)
    # 0.4 refutations are expected; 4 or more would happen with probability 8e-4.
    rng = np.random.default_rng(13)
    refuted = sum(_verdict(K2_DS, 2, 4, lambda d: math.comb(d + 2, 2), rng, sd=0.4) is Verdict.REFUTED
                  for _ in range(1000))
    assert refuted <= 3


def test_exponent_rule_is_inconclusive_when_the_interval_meets_both_bands():
    claimed, alt = Band(1.8, 2.4, "d^2"), Band(3.4, math.inf, "d^4")
    assert exponent_verdict(Interval(1.0, 4.0), claimed=claimed, alternative=alt)[0] is Verdict.INCONCLUSIVE
    assert exponent_verdict(Interval(2.5, 3.0), claimed=claimed, alternative=alt)[0] is Verdict.REFUTED


def test_bands_are_finite_size_slopes_on_the_grid():
    band = degree_band(K3_DS, 3)
    # low: halfway between the grid slopes of C(d+2, 2) (1.60) and C(d+3, 3) (2.44): not 3
    assert 1.9 < band.low < 2.1 and 3.3 < band.high < 3.6
    assert degree_band(K3_DS, 9).low > band.high
    assert degree_band(K2_DS, 2).low > 1 and degree_band(K2_DS, 4).low > degree_band(K2_DS, 2).high


# ---- the tracking rule (n* against the exact n_pred) at the configuration the quick tier runs ------------
# 6 seeds, d = 6, 8, 10, 12 (SIZES theorem1 quick), confidence 1 − 2·RECORD_BUDGET, and the per-seed
# spread of log n* measured in the quick run (base seed 20240101, the seeds that reached the level at
# d = 10 and 12: sd 0.44 and 0.45 of log n*; seed offsets of the same size).
RUN_DS, RUN_SEEDS, RUN_SPREAD = [6, 8, 10, 12], 6, 0.45


def _tracking_rate(slope, verdict, *, ds=RUN_DS, seeds=RUN_SEEDS, spread=RUN_SPREAD, draws=400, seed=21):
    rng = np.random.default_rng(seed)
    return sum(simulate_tracking(slope, ds=ds, seeds=seeds, spread=spread, seed_spread=spread, rng=g,
                                 confidence=CONFIDENCE) is verdict for g in rng.spawn(draws)) / draws


def test_tracking_rule_keeps_its_budget_on_a_true_claim_at_the_run_configuration():
    assert _tracking_rate(0.0, Verdict.REFUTED, draws=2000) <= 3 / 2000  # budget 2e-4 a side: 0.4 expected


def test_tracking_rule_never_supports_one_degree_more_and_its_power_is_the_stated_one():
    # planted: n* ∝ d^{k+1}, i.e. n*/n_pred grows like d (slope 1), near the truth
    assert _tracking_rate(1.0, Verdict.SUPPORTED) <= 0.01
    rng = np.random.default_rng(22)
    oc = operating_characteristic(
        lambda g: simulate_tracking(0.0, ds=RUN_DS, seeds=RUN_SEEDS, spread=RUN_SPREAD, seed_spread=RUN_SPREAD, rng=g,
                                    confidence=CONFIDENCE),
        lambda g: simulate_tracking(1.0, ds=RUN_DS, seeds=RUN_SEEDS, spread=RUN_SPREAD, seed_spread=RUN_SPREAD, rng=g,
                                    confidence=CONFIDENCE),
        alternative="d^(k+1)", draws=400, rng=rng, budget=RECORD_BUDGET)
    # at 6 seeds over d = 6..12 the rule cannot tell d^{k+1} from d^k: the quick tier is underpowered
    assert oc.underpowered and oc.power.rate < 0.05
    assert abs(_tracking_rate(1.0, Verdict.REFUTED) - oc.power.rate) < 0.05


def test_tracking_rule_refutes_kq_and_k_plus_1_where_the_grid_and_seeds_allow():
    # a decade of d and 32 seeds at the measured spread: d^{k+1} is refuted, d^k supported
    ds = [16, 32, 64, 160]
    assert _tracking_rate(1.0, Verdict.REFUTED, ds=ds, seeds=32, draws=200) >= 0.8
    assert _tracking_rate(0.0, Verdict.SUPPORTED, ds=ds, seeds=32, draws=200) >= 0.8
    assert _tracking_rate(6.0, Verdict.REFUTED, ds=ds, seeds=32, draws=200) == 1.0  # kq = 9 against k = 3


@pytest.mark.parametrize("k, spread, seed_spread", [(2, 0.28, 0.14), (3, 0.41, 0.41)])
def test_tracking_rule_decides_at_the_full_tier_configuration(k, spread, seed_spread):
    """The full tier's d grid and seed count (checks/tiers.py) at the spreads the quick run measured (the
    pilot that sized them): power >= 0.8 against d^{k+1}, the true claim SUPPORTED as a rule and refuted
    at most at the budget's scale."""
    from checks.tiers import SIZES

    full = SIZES["theorem1"]["full"]
    ds, seeds = list(full[f"k{k}_ds"]), full["seeds"]

    def rate(slope, verdict, draws=200):
        rng = np.random.default_rng(31 + k)
        return sum(simulate_tracking(slope, ds=ds, seeds=seeds, spread=spread, seed_spread=seed_spread, rng=g,
                                     confidence=CONFIDENCE) is verdict for g in rng.spawn(draws)) / draws

    assert rate(1.0, Verdict.REFUTED) >= 0.8
    assert rate(0.0, Verdict.SUPPORTED) >= 0.8
    assert rate(0.0, Verdict.REFUTED) <= 0.01


def test_tracking_rule_does_not_support_an_interval_that_touches_the_tolerance():
    # slopes whose t-interval reaches past +TRACK_TOLERANCE: INCONCLUSIVE, not SUPPORTED
    slopes = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    verdict, interval, _ = tracking_verdict(slopes, confidence=0.95)
    assert interval.low < TRACK_TOLERANCE <= interval.high and verdict is Verdict.INCONCLUSIVE
    assert tracking_verdict(slopes - 0.35, confidence=0.5)[0] is Verdict.SUPPORTED
    assert tracking_verdict(slopes + 2.0, confidence=0.95)[0] is Verdict.REFUTED


def test_seed_slopes_and_spreads_are_per_seed():
    ds = [6, 8, 10, 12]
    x = np.log(ds)
    y = np.array([[1.0], [2.0]]) + np.array([[0.5], [-0.5]]) * x[None, :]
    assert np.allclose(seed_slopes(y, ds), [0.5, -0.5])
    spread, seed_spread = two_way_spread(y, ds)
    assert spread == pytest.approx(0.0, abs=1e-12) and seed_spread > 0
    with pytest.raises(ValueError, match="seeds"):
        seed_slopes(y[:1], ds)


def test_lemma1_limit_interval_is_over_seeds_not_pooled_points():
    # nested prefixes within a seed: one offset per seed shared by all its n. The pooled t-interval
    # treats 6×9 points as independent; the interval over seeds covers the seed spread.
    rng = np.random.default_rng(23)
    D, limit, seed_sd = 455, 0.985, 0.03
    ns = D * 2.0 ** np.arange(3, 7.5, 0.5)
    covered_seed, covered_pooled = 0, 0
    for _ in range(200):
        curves = {s: (ns, limit + seed_sd * rng.standard_normal() - 0.3 * D / ns + 0.002 * rng.standard_normal(ns.size))
                  for s in range(6)}
        per_seed = seed_intercepts(curves, scale=D, min_n=8 * D, confidence=0.95)
        pooled = limit_fit(np.concatenate([c[0] for c in curves.values()]), np.concatenate([c[1] for c in curves.values()]),
                           scale=D, confidence=0.95)
        covered_seed += per_seed.interval.contains(limit)
        covered_pooled += pooled.interval.contains(limit)
    assert covered_seed >= 180  # ~95% nominal
    assert covered_pooled < 150  # the pooled interval undercovers when seeds carry the noise


def _corr_curve(ns, limit, rng, *, D, sd=0.01, seeds=SEEDS):
    ns = np.repeat(np.asarray(ns, float), seeds)
    return ns, limit - 0.3 * D / ns + sd * rng.standard_normal(ns.size)


def test_limit_rule_supports_the_true_limit_and_refutes_a_wrong_one():
    rng = np.random.default_rng(14)
    D = 325
    ns = D * 2.0 ** np.arange(3, 5.5, 0.5)
    x, y = _corr_curve(ns, 0.957, rng, D=D)
    fit = limit_fit(x, y, scale=D, confidence=CONFIDENCE)
    assert limit_verdict(fit, exact=0.957)[0] is Verdict.SUPPORTED
    assert limit_verdict(fit, exact=1.0)[0] is Verdict.REFUTED  # "corr → 1": the Trap of docs/paper.md §7
    assert limit_verdict(fit, exact=0.90)[0] is Verdict.REFUTED
    assert extrapolated_limit_verdict(fit, exact=1.0, relative_error_at_top=0.03)[0] is Verdict.REFUTED
    # far from the limit, the extrapolation is not trusted
    assert extrapolated_limit_verdict(fit, exact=1.0, relative_error_at_top=2 * ASYMPTOTIC_REGIME)[0] is Verdict.INCONCLUSIVE


def test_limit_rule_false_failures_stay_within_budget():
    rng = np.random.default_rng(15)
    D = 325
    ns = D * 2.0 ** np.arange(3, 5.5, 0.5)
    refuted = 0
    for _ in range(1000):
        x, y = _corr_curve(ns, 0.957, rng, D=D, sd=0.03)
        refuted += limit_verdict(limit_fit(x, y, scale=D, confidence=CONFIDENCE), exact=0.957)[0] is Verdict.REFUTED
    assert refuted <= 3  # 0.4 expected at the budget; see the exponent test


def test_kernel_rule_refutes_a_kernel_below_its_plateau():
    z = one_sided_z(RECORD_BUDGET, 8)
    assert kernel_plateau_verdict([0.05, 0.06], [0.01, 0.01], allowance=0.1, z=z)[0] is Verdict.SUPPORTED
    assert kernel_plateau_verdict([-0.05, 0.0], [0.01, 0.01], allowance=0.1, z=z)[0] is Verdict.SUPPORTED
    # planted: a "kernel" that learned the degree-4 part (the network's risk)
    assert kernel_plateau_verdict([-0.21, -0.2], [0.01, 0.01], allowance=0.1, z=z)[0] is Verdict.REFUTED


def test_network_rule_refutes_a_network_stuck_at_the_plateau():
    z = one_sided_z(RECORD_BUDGET, 8)
    assert network_below_verdict([-0.2, -0.21], [0.01, 0.02], z=z)[0] is Verdict.SUPPORTED
    assert network_below_verdict([0.05, 0.1], [0.01, 0.01], z=z)[0] is Verdict.REFUTED
    assert network_below_verdict([-0.2, 0.1], [0.01, 0.01], z=z)[0] is Verdict.INCONCLUSIVE


def test_plateau_allowance_vanishes_as_d_grows():
    shares = {4: 0.3}
    small, large = plateau_allowance(shares, n=6224, d=24), plateau_allowance(shares, n=16 * 1225, d=48)
    assert 0 < large < small < 0.3
    assert plateau_allowance(shares, n=10 ** 9, d=8) == pytest.approx(0.3)


def test_growth_rule_refutes_a_stage2_that_grows_like_d():
    rng = np.random.default_rng(16)
    ds = [16, 64, 256, 1024]
    flat = fit_exponent(_sweep(ds, lambda d: 1.0, rng, sd=0.3), rng=rng, confidence=CONFIDENCE)
    linear = fit_exponent(_sweep(ds, lambda d: d, rng, sd=0.3), rng=rng, confidence=CONFIDENCE)
    assert growth_verdict(flat.decision)[0] is Verdict.SUPPORTED
    assert growth_verdict(linear.decision)[0] is Verdict.REFUTED


@pytest.mark.parametrize("tier", ["quick", "full"])
def test_growth_rule_decides_both_ways_on_each_tiers_stage2_grid(tier):
    """At the d grid and seed count the stage-2 check runs with (sd of log n2* 0.3): a flat n2* is
    SUPPORTED and one growing like d is REFUTED, each in >= 90% of 40 draws."""
    from checks.tiers import SIZES

    sizes = SIZES["theorem1"][tier]
    ds, seeds = list(sizes["stage2_ds"]), sizes["seeds"]
    rng = np.random.default_rng(17)
    verdicts = {"flat": [], "linear": []}
    for _ in range(40):
        for name, growth in (("flat", lambda d: 1.0), ("linear", lambda d: d)):
            fit = fit_exponent(_sweep(ds, growth, rng, sd=0.3, seeds=seeds), rng=rng, confidence=CONFIDENCE,
                               n_resamples=400)
            verdicts[name].append(growth_verdict(fit.decision)[0])
    assert verdicts["flat"].count(Verdict.SUPPORTED) >= 36
    assert verdicts["linear"].count(Verdict.REFUTED) >= 36


def test_target_specs_round_trip_exactly():
    product = {"psi": [[[1, 1], "1"]], "psi_name": "prod_2", "k": 2, "link": ["0", "1/2", "0", "1/4"], "signs_seed": 5}
    for spec in (section5_spec(8, seed=3), recipe_spec(product, 9), recipe_spec(KERNEL_RECIPE, 6)):
        target = build_target(spec)
        assert target_spec(target) == spec
        x = np.random.default_rng(0).standard_normal((16, spec["d"]))
        assert np.allclose(build_target(target_spec(target)).evaluate(x), target.evaluate(x))
    products = build_target(recipe_spec(product, 9))
    assert products.feature.L == 4 and products.k == 2 and products.q == 3  # ⌊9/2⌋ blocks, one coordinate unused
    assert build_target(recipe_spec(KERNEL_RECIPE, 6)).violations() == []


# ---- one formula, one place: Var h, the plateau and the low-degree share of the target ------------

def _drawn_cubic_on_h2_blocks():
    """A drawn-style k = 2 target: ψ = h_2 on L = 3 coordinates, a cubic link with E g = 0 under
    N(0, 1). p is not Gaussian at finite L, so E h = Σ c_m E p^m != 0."""
    from theory.features import BlockFeature, HierarchicalTarget, Link, Weights
    from theory.hermite import Z
    from theory.structured import BlockType

    psi = BlockType({(2,): 1}, name="h_2")
    feature = BlockFeature.coordinate(psi, Weights.from_signs(np.array([1, -1, 1])), d=3, k=2)
    return HierarchicalTarget(feature, Link(Z + (Z ** 2 - 1) / 2 + Z ** 3 / 3))


def test_plateau_is_computed_on_the_centred_target():
    import sympy

    from theory import expand, spectrum

    target = _drawn_cubic_on_h2_blocks()
    mean = target.mean()
    assert mean != 0  # the case where centring matters
    h = expand(target.expression(), target.feature.variables)  # independent: the naive expansion
    centred = h.centred()
    assert sympy.simplify(target.variance() - centred.norm2()) == 0
    for degree in range(0, 6):
        above = centred.project_gt(degree).norm2() / centred.norm2()
        assert sympy.simplify(target.plateau(degree) - above) == 0, degree
        assert sympy.simplify(target.plateau(degree) - spectrum.plateau(h, degree)) == 0  # the expansion's own
        assert sympy.simplify(target.low_degree_share(degree) + target.plateau(degree) - 1) == 0
        assert sympy.simplify(target.projection_norm2(degree) - h.project_le(degree).norm2()) == 0
    # the formula that drifted (1 − Σ_{j<=k} ||P_j h||²/Var h) is off by exactly (E h)²/Var h
    drifted = 1 - sum(target.degree_energy(j) for j in range(3)) / target.variance()
    assert sympy.simplify(target.plateau(2) - drifted - mean ** 2 / target.variance()) == 0


def test_a_constant_target_has_no_plateau():
    from theory.features import BlockFeature, FeatureError, HierarchicalTarget, Link

    import sympy

    target = HierarchicalTarget(BlockFeature.decomposable_on_coordinates([1, 1], 2), Link(sympy.Integer(3)))
    with pytest.raises(FeatureError, match="constant"):
        target.plateau(1)


# ---- specs: a plain-data round trip of targets -------------------------------------------------------

def test_feature_and_target_specs_round_trip_through_json():
    import json
    from fractions import Fraction

    from theory.features import HierarchicalTarget, Link, QuadraticFeature, feature_from_spec
    from theory.hermite import Z

    quadratic = HierarchicalTarget(QuadraticFeature([[Fraction(1, 2), Fraction(1, 3)], [Fraction(1, 3), 0]]),
                                   Link(Z + (Z ** 2 - 1) / 3))
    for target in (_drawn_cubic_on_h2_blocks(), build_target(section5_spec(6, seed=3)), quadratic):
        spec = json.loads(json.dumps(target.to_spec()))  # plain JSON data
        again = HierarchicalTarget.from_spec(spec)
        assert again.to_spec() == spec
        assert again.norm2() == target.norm2() and again.mean() == target.mean()
        assert again.stage1_population_corr() == target.stage1_population_corr()
        assert feature_from_spec(spec).to_spec() == target.feature.to_spec()
        assert target_spec(target) == spec  # checks.specs reads the same spec


def test_a_feature_without_a_spec_says_so():
    from theory.features import BlockFeature, FeatureError, PolynomialFeature, feature_from_spec

    with pytest.raises(FeatureError, match="directions"):
        BlockFeature.decomposable([[1, 0], [0, 1]], [1, 1], 2).to_spec()
    with pytest.raises(FeatureError, match="no plain-data spec"):
        PolynomialFeature.from_tensor(np.array([[1, 0], [0, -1]], dtype=object)).to_spec()
    with pytest.raises(FeatureError, match="unknown feature family"):
        feature_from_spec({"family": "tensor"})


# ---- runs: one runner table of picklable module-level functions, one replicate-seed scheme --------------

def test_runners_are_picklable_module_level_functions():
    import pickle

    from checks.runs import RUNNERS, run_one, runner_for
    from checks.sweep import Run

    for method, runner in RUNNERS.items():
        assert pickle.loads(pickle.dumps(runner)) is runner, method
        assert "<locals>" not in runner.__qualname__
    bound = pickle.loads(pickle.dumps(runner_for("cpu")))
    assert bound.func is run_one and bound.keywords == {"device": "cpu"}
    with pytest.raises(ValueError, match="unknown method 'gradient-flow'"):
        run_one(Run(method="gradient-flow", d=2, n=2, seed=0, config={}))


def test_replicate_seeds_are_one_scheme_per_family():
    from checks.runs import replicate_seeds
    from checks.seeds import derive_seed

    assert replicate_seeds(7, 3, family="theorem1") == [derive_seed(7, f"theorem1/replicate/{r}") for r in range(3)]
    assert replicate_seeds(7, 2, family="") == [derive_seed(7, f"replicate/{r}") for r in range(2)]
    assert set(replicate_seeds(7, 3, family="theorem1")).isdisjoint(replicate_seeds(7, 3, family="section5"))
    with pytest.raises(ValueError, match="count"):
        replicate_seeds(7, 0, family="theorem1")


def test_drawn_targets_follow_the_base_seed():
    """The hypothesis-drawn k = 2 families of check_theorem1 are pinned by an explicit seed derived from
    --seed (issue 13 item 4): one base seed draws the same families every time, another base seed draws
    other ones, and editing the drawing function's source does not swap them (not derandomised)."""
    from hypothesis import HealthCheck, given, seed, settings

    from checks.runs import quadratic_recipes
    from checks.seeds import derive_seed

    def draws(base_seed: int) -> list:
        out = []

        @seed(derive_seed(base_seed, "theorem1/draw"))
        @settings(max_examples=2, deadline=None, derandomize=False, database=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(recipe=quadratic_recipes())
        def collect(recipe):
            out.append((tuple(recipe["link"]), recipe["signs_seed"], str(recipe["psi"])))

        collect()
        return out

    assert draws(20240101) == draws(20240101)
    assert draws(20240101) != draws(1)
