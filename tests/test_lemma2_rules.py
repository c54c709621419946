"""The decision rules of checks/check_lemma2.py refute wrong versions of their claims."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sympy

from checks.check_lemma2 import (
    decide_few_components,
    decide_general_tensor,
    decide_information_exponent,
    decide_rate_from_closed_form,
    decide_rate_uniform,
    decide_tail,
    decide_tracks_effective_components,
)
from checks.evidence import Verdict
from theory.features import Link, RepeatedBlockFamily
from theory.hermite import Z
from theory.structured import BlockType, PowerSumPolynomial

F = Fraction
GRID = [2**j for j in range(1, 15)]


# --- closed form in L ------------------------------------------------------------------------------

@pytest.mark.parametrize("expansion, verdict", [
    ({F(1, 2): 1}, Verdict.REFUTED),                        # planted gap ~ L^{-1/4}
    ({F(0): 3}, Verdict.REFUTED),                           # constant gap
    ({F(1, 2): F(1, 100), F(1): 8}, Verdict.REFUTED),       # a small slow term beside a large fast one
    ({F(1): 8, F(3, 2): -100}, Verdict.SUPPORTED),
    ({F(2): 900}, Verdict.SUPPORTED),
    ({}, Verdict.SUPPORTED),
])
def test_closed_form_rule(expansion, verdict):
    assert decide_rate_from_closed_form(expansion).verdict is verdict


def test_closed_form_rule_rejects_a_negative_norm():
    with pytest.raises(ValueError, match="negative"):
        decide_rate_from_closed_form({F(1, 2): -1, F(1): 8})


def test_closed_form_rule_wrong_exponent_and_wrong_constant():
    family = RepeatedBlockFamily(BlockType.hermite(2), [1], Link(Z + Z**2 - 1))
    gap = family.expansion_in_L("stein_gap2")  # exactly 8/L
    assert decide_rate_from_closed_form(gap).verdict is Verdict.SUPPORTED
    # wrong exponent: the claim 'gap = O(L^{-1})' is false for k = 2
    assert decide_rate_from_closed_form(gap, claimed_decay=F(1)).verdict is Verdict.REFUTED
    # wrong constant: ||P_k h - (E g' + 1/10) p|| does not vanish
    q = family.quantities
    wrong = q.degree_energy(2) - q.cross(2).scale(2 * sympy.Rational(11, 10)) + q.feature_energy(2).scale(sympy.Rational(121, 100))
    wrong_family = _expansion_of(family, wrong)
    assert decide_rate_from_closed_form(wrong_family).verdict is Verdict.REFUTED


def _expansion_of(family: RepeatedBlockFamily, poly: PowerSumPolynomial) -> dict:
    M = sympy.Integer(family.period)
    out = {}
    for w, part in poly.by_weight().items():
        c = sympy.radsimp(part.evaluate(family.power_sums(M)) * M ** sympy.Rational(w.numerator, w.denominator))
        if c != 0:
            out[w] = c
    return out


def test_closed_form_rule_assumptions_removed():
    # E g != 0: the lower-degree part keeps the constant (E g(z))² = 1
    uncentred = RepeatedBlockFamily(BlockType.hermite(3), [1], Link(Z + Z**2))
    assert decide_rate_from_closed_form(uncentred.expansion_in_L("lower_energy")).verdict is Verdict.REFUTED
    # p not normalised (λ = 2: Σ λ² = 4L): P_k h -> E g'(2z)·p != E g'(z)·p for a cubic link
    # (for g = z + z² - 1 both slopes are 1 and the gap still decays: scale only enters via E g')
    unnormalised = RepeatedBlockFamily(BlockType.hermite(2), [2], Link(Z + Z**3))
    assert decide_rate_from_closed_form(unnormalised.expansion_in_L("stein_gap2")).verdict is Verdict.REFUTED


# --- uniform bound over balanced λ ------------------------------------------------------------------

def test_uniform_rule_refutes_slow_parts():
    P2, P3, P4 = ((0, 2), 1), ((0, 3), 1), ((0, 4), 1)
    assert decide_rate_uniform(PowerSumPolynomial({(P3,): 1, (P4,): 2}), norm2_psi=1).verdict is Verdict.REFUTED
    # P_2 - 1/N vanishes only for normalised p; with P_2 = 1/N = 1 the constant cancels exactly
    assert decide_rate_uniform(PowerSumPolynomial({(P2,): 1, (): -1, (P4,): 1}), norm2_psi=1).verdict is Verdict.SUPPORTED
    assert decide_rate_uniform(PowerSumPolynomial({(P2,): 1, (P4,): 1}), norm2_psi=1).verdict is Verdict.REFUTED
    decision = decide_rate_uniform(PowerSumPolynomial({(P4,): 3}), norm2_psi=1, bound=2)
    assert decision.verdict is Verdict.SUPPORTED and decision.constant == 3 * 2**4


def test_uniform_rule_on_the_engine_with_a_wrong_constant():
    family = RepeatedBlockFamily(BlockType.hermite(4), [1], Link(Z + (Z**2 - 1) / 2 + Z**3 / 3))
    q, slope = family.quantities, family.link.derivative_mean  # E g' = 2
    assert decide_rate_uniform(q.stein_gap2(4, slope), norm2_psi=24).verdict is Verdict.SUPPORTED
    assert decide_rate_uniform(q.stein_gap2(4, slope * sympy.Rational(9, 10)), norm2_psi=24).verdict is Verdict.REFUTED


def test_uniform_bound_holds_on_random_instances():
    """The explicit K really bounds the exact gap for balanced λ (one random family)."""
    from theory.features import BlockFeature

    family = RepeatedBlockFamily(BlockType.hermite(2), [1], Link(Z + (Z**2 - 1) / 2 + Z**3 / 3))
    poly = family.polynomial("stein_gap2")
    K = decide_rate_uniform(poly, norm2_psi=2).constant
    rng = np.random.default_rng(0)
    for L in (2, 10, 50):
        lam = [F(int(s)) * v for s, v in zip(rng.choice([-1, 1], size=L), [F(1, 5), F(7, 5)] * (L // 2))]
        value = poly.evaluate(BlockFeature.coordinate(BlockType.hermite(2), lam).power_sum)
        assert value * L <= K


# --- exact values on a grid --------------------------------------------------------------------------

def test_tail_rule_with_a_proven_bound():
    L = np.array(GRID, float)
    assert decide_tail(GRID, 3 * L**-0.5, bound=3.0).verdict is Verdict.SUPPORTED
    assert decide_tail(GRID, 3 * L**-0.25, bound=3.0).verdict is Verdict.REFUTED   # L^{-1/4}
    assert decide_tail(GRID, np.full(len(GRID), 0.5), bound=3.0).verdict is Verdict.REFUTED  # constant


def test_tail_rule_without_a_bound_never_refutes():
    L = np.array(GRID, float)
    assert decide_tail(GRID, L**-0.25, bound=None).verdict is Verdict.INCONCLUSIVE
    assert decide_tail(GRID, L**-1.0, bound=None).verdict is Verdict.SUPPORTED
    d = decide_tail(GRID, 2 * L**-0.5, bound=None)
    assert d.measured["slope"] == pytest.approx(-0.5)


# --- probes and the conjecture ----------------------------------------------------------------------

def test_information_exponent_rule():
    psi = BlockType.hermite(2)
    broken = RepeatedBlockFamily(psi, [1], Link.hermite(2))
    assert decide_information_exponent(broken.polynomial("cross"), norm2_psi=2).verdict is Verdict.SUPPORTED
    # with E g' != 0 the predicted break does not appear: P_k h keeps E g'·p
    fine = RepeatedBlockFamily(psi, [1], Link(Z + Z**2 - 1))
    decision = decide_information_exponent(fine.polynomial("cross"), norm2_psi=2)
    assert decision.verdict is Verdict.REFUTED and decision.constant == 1


def test_few_components_rule():
    assert decide_few_components({"a": sympy.Rational(1, 3), "b": 8}).verdict is Verdict.SUPPORTED
    # a linear link has no Lemma 2 error at any L: the predicted break does not appear
    linear = RepeatedBlockFamily(BlockType.hermite(3), [1], Link(2 * Z))
    zero = linear.value("stein_gap2", 1) + linear.value("lower_energy", 1)
    assert decide_few_components({"linear": zero, "b": 8}).verdict is Verdict.REFUTED


def test_effective_components_rule():
    L_eff = np.array([2.0, 4, 8, 16, 32])
    assert decide_tracks_effective_components(L_eff, 5 / L_eff * (1 + 3 / L_eff), 5).verdict is Verdict.SUPPORTED
    # error decaying with L_eff^{-1/2} instead of L_eff^{-1}: the ratio grows, no support
    assert decide_tracks_effective_components(L_eff, 5 / np.sqrt(L_eff), 5).verdict is Verdict.INCONCLUSIVE


def test_general_tensor_rule():
    d = [3, 4, 5, 6]
    assert decide_general_tensor(d, [4.0, 3.0, 2.5, 2.0]).verdict is Verdict.SUPPORTED
    assert decide_general_tensor(d, [2.0, 2.5, 3.0, 3.5]).verdict is Verdict.REFUTED
    assert decide_general_tensor(d, [4.0, 2.0, 3.0, 3.5]).verdict is Verdict.INCONCLUSIVE


# --- the exact readings as properties (hypothesis shrinks a counterexample) --------------------------

from checks.check_lemma2 import (  # noqa: E402
    IDENTICALLY_ZERO,
    fixed_instances,
    information_exponent_property,
    lemma2_property,
)
from checks.evidence import fails_run  # noqa: E402
from checks.registry import Kind, get_claim  # noqa: E402
from checks.strategies import balanced_lambdas, block_types, links  # noqa: E402

SMALL = dict(L_max=1000, points=6, max_q=3)


def test_planted_zero_gap_for_a_q3_link_is_refuted_and_shrinks():
    # planted: "the Lemma 2 gap is identically 0" for q = 3 links (only g = a·z has a zero gap)
    q3 = (block_types(k=2), links(min_degree=3, max_degree=3), balanced_lambdas(min_size=1, max_size=4))
    outcome, _, _ = lemma2_property(2, "stein_gap2", examples=100, seed=4, claimed_decay=IDENTICALLY_ZERO,
                                    strategies=q3, with_fixed=False, **SMALL)
    assert outcome.verdict is Verdict.REFUTED
    assert outcome.message.startswith("closed form: not identically 0")
    # shrunk: the simplest block (h_2) and motif [1]; the link keeps degree 3
    assert outcome.counterexample.startswith("(BlockType(h_2), Link(") and "q=3" in outcome.counterexample
    assert outcome.counterexample.endswith("[Fraction(1, 1)])")


def test_planted_wrong_exponent_is_refuted_by_the_property():
    # planted: the degree-k gap decays as L^-1 at k = 2 (it is L^-1/2 for links with E g'' != 0)
    outcome, _, _ = lemma2_property(2, "stein_gap2", examples=100, seed=4, claimed_decay=F(1), **SMALL)
    assert outcome.verdict is Verdict.REFUTED
    assert outcome.message.split(":")[0] in ("closed", "uniform", "tail")


def test_true_lemma2_property_holds_with_q3_and_nonlinear_links():
    outcome, _, results = lemma2_property(3, "lower_energy", examples=100, seed=9, **SMALL)
    assert outcome.verdict is Verdict.SUPPORTED and outcome.examples >= 100
    assert {r.link_degree for r in results} == {2, 3}  # q = 3 reached, g = z never drawn


def test_fixed_instances_differ_with_k_and_include_q3():
    two, three = fixed_instances(2), fixed_instances(3)
    assert [str(g.expr) for _, g, _ in two] != [str(g.expr) for _, g, _ in three]
    assert any(sympy.degree(g.expr, Z) == 3 for _, g, _ in two + three)
    assert all(sympy.degree(g.expr, Z) >= 2 for _, g, _ in two + three)  # never the degenerate g = a·z


def test_information_exponent_property_refutes_a_link_with_slope():
    # planted: links with E g' != 0 (the probe's break must then not appear)
    outcome, _ = information_exponent_property(2, examples=100, seed=3, max_q=3,
                                               links_strategy=links(min_degree=2, max_degree=3))
    assert outcome.verdict is Verdict.REFUTED and "!= 0" in outcome.message


def test_rules_that_cannot_refute_are_reports():
    # probe.unbalanced (decide_tracks_effective_components: SUPPORTED or INCONCLUSIVE only) and the
    # span-gap probes (REFUTED unreachable: ĝ lies in its span) are registered as reports
    for cid in ("probe.unbalanced", "probe.narrow-width", "probe.activation-degree"):
        assert get_claim(cid).kind is Kind.REPORT
    from checks.evidence import Evidence
    refuted = Evidence(claim_id="probe.unbalanced", verdict=Verdict.REFUTED, rule="r")
    assert not fails_run("report", refuted)
    assert fails_run("claim", refuted)
