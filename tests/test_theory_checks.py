"""The decision rules of checks/check_theory.py can fail: each rejects a wrong version of its claim.

Every test runs the SAME ``decide_*`` function the check uses, on a planted wrong identity, a
wrong constant, or a wrong statement about the degree spectrum, and requires REFUTED.
"""
from __future__ import annotations

import pytest
import sympy
from hypothesis import given, settings

from checks.check_theory import (
    KERNEL_TARGETS,
    HypercontractiveCase,
    _energies,
    decide_exact_identity,
    decide_hypercontractivity,
    decide_top_share,
    gaussian_limit_share,
    paper_feature,
    stein_sides,
)
from checks.evidence import Verdict
from checks.strategies import polynomial_link_expressions, polynomials
from theory import compose, expand, gaussian_expectation
from theory.hermite import Z, he, link_mean, link_poly
from theory.hypercontractivity import hypercontractive_ratio_power
from theory.spectrum import (
    ConstantTargetError,
    closed_form_spectrum,
    plateau,
    plateau_curve,
    share_at_degree,
    top_degree_share,
    variance,
)

# --- stein.exact ------------------------------------------------------------------------------

def _second_derivative_mean(g):
    return link_mean(link_poly(g).diff(Z).diff(Z))


def test_stein_rule_refutes_a_planted_wrong_identity():
    links = [Z, Z**3 + Z, 2 * Z**2 - Z + 1]
    wrong = [(g, stein_sides(g)[0], _second_derivative_mean(g)) for g in links]  # E[g z] = E[g'']?
    verdict, key = decide_exact_identity(wrong, identity="E[g z] = E[g'']")
    assert verdict is Verdict.REFUTED and "differ" in key
    right = [(g, *stein_sides(g)) for g in links]
    assert decide_exact_identity(right, identity="stein")[0] is Verdict.SUPPORTED


@settings(max_examples=20)
@given(polynomial_link_expressions(max_degree=6))
def test_stein_sides_match_he1_coefficient(g):
    lhs, rhs = stein_sides(g)
    assert lhs == rhs == link_mean(sympy.expand(g * Z))


def test_identity_rule_needs_cases():
    with pytest.raises(ValueError):
        decide_exact_identity([], identity="empty")


# --- hypercontractivity -------------------------------------------------------------------

x1, x2 = sympy.symbols("x1 x2")


def test_hypercontractivity_rule_refutes_wrong_constant():
    # f = x^2 (k = 2, q = 4): E f^4 = 105, E f^2 = 3. With C = (q-1)^{k/4}, C^4 = 3^2 = 9, and
    # 105 > 9 * 3^2 = 81: the wrong constant fails; the true (q-1)^{k/2} (C^4 = 81 * 9) holds.
    case = HypercontractiveCase.of(x1**2, (x1,), 4, 2)
    verdict, key, ratio = decide_hypercontractivity(
        [case], bound_power=lambda q, k: sympy.Integer(q - 1) ** sympy.Rational(k * q, 4),
        constant="(q-1)^{k/4}")
    assert verdict is Verdict.REFUTED and ratio > 1
    verdict, key, ratio = decide_hypercontractivity([case])
    assert verdict is Verdict.SUPPORTED and ratio < 1


def test_hypercontractivity_rule_refutes_wrong_exponent():
    # exponent k - 1: for f = x (k = 1) the bound would be ||x||_4 <= ||x||_2, but E x^4 = 3 > 1
    case = HypercontractiveCase.of(x1, (x1,), 4, 1)
    verdict, _, ratio = decide_hypercontractivity(
        [case], bound_power=lambda q, k: (q - 1) ** ((k - 1) * q // 2), constant="(q-1)^{(k-1)/2}")
    assert verdict is Verdict.REFUTED
    assert ratio == pytest.approx(3 ** 0.25)


def test_hypercontractive_ratio_exact_values():
    # f = x1 x2: E f^4 = 9, E f^2 = 1, k = 2, q = 4: ratio^4 = 9 / 3^4 = 1/9
    assert hypercontractive_ratio_power(x1 * x2, (x1, x2), 4) == sympy.Rational(1, 9)
    with pytest.raises(ValueError, match="even"):
        hypercontractive_ratio_power(x1, (x1,), 3)


@settings(max_examples=15)
@given(polynomials(max_vars=2, max_degree=2))
def test_lq_norm_power_q2_is_parseval(drawn):
    from theory.hypercontractivity import lq_norm_power

    f, xs, _ = drawn
    assert lq_norm_power(f, xs, 2) == expand(f, xs).norm2()
    assert lq_norm_power(f, xs, 4) == gaussian_expectation(sympy.expand(f**4), xs)


# --- kernel.lower-bound (exact part) -------------------------------------------------------

def _target_shares(name: str, sizes=(1, 2, 3, 4)):
    k, q, g, _ = KERNEL_TARGETS[name]
    shares, degrees = {}, {}
    for L in sizes:
        xs = sympy.symbols(f"x1:{L + 1}")
        h = compose(g, Z, paper_feature(k, [1] * L, xs), xs)
        shares[L], degrees[L] = share_at_degree(h, k * q), h.degree
    return k * q, shares, degrees


def test_kernel_rule_refutes_share_zero():
    kq, shares, degrees = _target_shares("k3q2")
    verdict, key = decide_top_share(shares, degrees=degrees, kq=kq, low=0, high=0)
    assert verdict is Verdict.REFUTED and "not exactly 0" in key


def test_kernel_rule_refutes_wrong_constant_and_wrong_degree():
    kq, shares, degrees = _target_shares("k3q2")
    k, q, g, _ = KERNEL_TARGETS["k3q2"]
    closed = closed_form_spectrum(lambda L: _energies(k, g, [1] * L), scale_power=q, degree_bound=2 * q)
    assert closed.verified and closed.limit_share(kq) == gaussian_limit_share(g, q)
    # a wrong constant: 'at least 0.9 of the variance at degree kq'; the exact limit is 1/3
    verdict, _ = decide_top_share(shares, degrees=degrees, kq=kq, low=sympy.Rational(9, 10),
                                  limit=closed.limit_share(kq), closed_form_verified=True)
    assert verdict is Verdict.REFUTED
    # a wrong degree: 'the top component sits at degree kq + 1'
    verdict, key = decide_top_share(shares, degrees=degrees, kq=kq + 1, low=0)
    assert verdict is Verdict.REFUTED and "degree" in key
    # the true claim
    verdict, _ = decide_top_share(shares, degrees=degrees, kq=kq, low=gaussian_limit_share(g, q) / 2,
                                  limit=closed.limit_share(kq), closed_form_verified=True)
    assert verdict is Verdict.SUPPORTED


def test_kernel_rule_without_closed_form_is_inconclusive_below_the_constant():
    verdict, _ = decide_top_share({2: sympy.Rational(1, 10)}, degrees={2: 4}, kq=4, low=sympy.Rational(1, 6))
    assert verdict is Verdict.INCONCLUSIVE
    verdict, _ = decide_top_share({2: sympy.Integer(0)}, degrees={2: 4}, kq=4, low=sympy.Rational(1, 6))
    assert verdict is Verdict.REFUTED


def test_closed_form_detects_a_too_small_degree_bound():
    k, q, g, _ = KERNEL_TARGETS["k3q3"]
    wrong = closed_form_spectrum(lambda L: _energies(k, g, [1] * L), scale_power=q, degree_bound=1)
    assert not wrong.verified


def test_paper_feature_is_normalised_and_sign_invariant_for_odd_k():
    xs = sympy.symbols("x1:4")
    for k in (2, 3):
        p = expand(paper_feature(k, [1, -1, 1], xs), xs)
        assert p.mean() == 0 and p.norm2() == 1 and p.degree_energies()[k] == 1
    g = KERNEL_TARGETS["k3q3"][2]
    plus = compose(g, Z, paper_feature(3, [1, 1, 1], xs), xs)
    mixed = compose(g, Z, paper_feature(3, [1, -1, -1], xs), xs)
    assert plus.degree_energies() == mixed.degree_energies()


def test_spectrum_and_plateau_definitions():
    x, y = sympy.symbols("x y")
    h = expand(x + he(2, y).as_expr() + 5, (x, y))   # energies [25, 1, 2]; Var h = 3
    assert variance(h) == 3
    assert plateau(h, 0) == 1 and plateau(h, 1) == sympy.Rational(2, 3) and plateau(h, 2) == 0
    assert plateau_curve(h) == [1, sympy.Rational(2, 3), 0]
    assert top_degree_share(h) == sympy.Rational(2, 3)
    assert share_at_degree(h, 1) == sympy.Rational(1, 3)
    with pytest.raises(ConstantTargetError):
        plateau(expand(sympy.Integer(3), (x,)), 0)
    with pytest.raises(ValueError):
        plateau(h, -1)


# --- the property engine (checks/properties.py) ------------------------------------------------------

from hypothesis import strategies as st  # noqa: E402

from checks.check_theory import (  # noqa: E402
    limit_share,
    hypercontractivity_property,
    stein_property,
)
from checks.properties import run_property  # noqa: E402


def test_property_shrinks_a_counterexample_and_counts_examples():
    def small_sum(x, y):
        assert x + y < 100, f"{x} + {y} >= 100"

    found = run_property(small_sum, st.integers(0, 1000), st.integers(0, 1000), examples=100, seed=5)
    assert found.verdict is Verdict.REFUTED
    assert found.counterexample in ("(0, 100)", "(100, 0)")  # shrunk to the boundary
    unshrunk = run_property(small_sum, st.integers(0, 1000), st.integers(0, 1000), examples=100, seed=5, shrink=False)
    assert unshrunk.counterexample != found.counterexample
    held = run_property(lambda x: None, st.integers(0, 10**6), examples=120, seed=5, explicit=[(3,)])
    assert held.verdict is Verdict.SUPPORTED and held.examples == 121 and held.explicit == 1


def test_property_draws_come_from_the_seed():
    def draws(seed):
        seen = []
        run_property(seen.append, st.integers(0, 10**9), examples=20, seed=seed)
        return seen

    assert draws(1) == draws(1)  # one seed reproduces
    assert draws(1) != draws(2)  # a fresh seed explores new instances


def test_stein_property_refutes_and_shrinks_a_planted_wrong_identity():
    # planted: E[g z] = E[g'] + E[g''] (wrong for any g with E g'' != 0)
    outcome, _ = stein_property(5, examples=100, seed=11,
                                rhs=lambda g: stein_sides(g)[1] + _second_derivative_mean(g))
    assert outcome.verdict is Verdict.REFUTED
    assert outcome.counterexample == "z**2"  # the smallest link with E g'' != 0
    # the drawn links alone (no explicit z^m) shrink to a single small monomial too
    found = run_property(lambda g: None if _second_derivative_mean(g) == 0 else (_ for _ in ()).throw(AssertionError("E g'' != 0")),
                         polynomial_link_expressions(max_degree=5), examples=200, seed=11)
    assert found.verdict is Verdict.REFUTED
    assert sympy.Poly(sympy.sympify(found.counterexample.replace("z", "Z"), locals={"Z": Z}), Z).degree() == 2


def test_stein_property_supports_the_true_identity():
    outcome, cases = stein_property(6, examples=100, seed=3)
    assert outcome.verdict is Verdict.SUPPORTED and outcome.examples >= 100 and len(cases) == outcome.examples


def test_hypercontractivity_property_refutes_the_constant_q_minus_1_to_k_over_4():
    # planted: ||f||_q <= (q-1)^{k/4} ||f||_2, i.e. the q-th power (q-1)^{kq/4}. (At k = 1 it holds:
    # a Gaussian linear form has ||f||_4 = 3^{1/4} ||f||_2 exactly, so k >= 2.)
    for q, k in ((4, 2), (4, 3), (6, 2)):
        outcome, _ = hypercontractivity_property(q, k, examples=100, seed=7,
                                                 bound_power=lambda q, k: sympy.Integer(q - 1) ** sympy.Rational(k * q, 4),
                                                 constant="(q-1)^{k/4}")
        assert outcome.verdict is Verdict.REFUTED, (q, k)
        assert "(x1,)" in outcome.counterexample  # shrunk to one variable
    outcome, cases = hypercontractivity_property(4, 2, examples=100, seed=7)
    assert outcome.verdict is Verdict.SUPPORTED and len(cases) >= 100


# --- kernel.lower-bound, even k: the exact limit, uniform over signs --------------------------------

def test_limit_share_is_the_gaussian_share():
    for g, q in ((Z + (Z**2 - 1) / 2, 2), (Z + Z**3 / 3, 3), (Z - (Z**2 - 1), 2)):
        assert limit_share(2, q, g) == gaussian_limit_share(g, q)


def test_even_k_share_rule_can_refute():
    k, q, g, _ = KERNEL_TARGETS["k2q2"]
    limit = limit_share(k, q, g)
    shares, degrees = {4: sympy.Rational(1, 5)}, {4: k * q}
    verdict, _ = decide_top_share(shares, degrees=degrees, kq=k * q, low=gaussian_limit_share(g, q) / 2,
                                  limit=limit, closed_form_verified=True)
    assert verdict is Verdict.SUPPORTED
    # planted: a share of at least 1/2 in the limit (the true limit is 1/3)
    verdict, key = decide_top_share(shares, degrees=degrees, kq=k * q, low=sympy.Rational(1, 2),
                                    limit=limit, closed_form_verified=True)
    assert verdict is Verdict.REFUTED and "limit 1/3" in key


def test_limit_share_property_holds_and_refutes_a_planted_level():
    from checks.check_theory import limit_share_property

    outcome, passed = limit_share_property(2, 3, examples=100, seed=2)
    assert outcome.verdict is Verdict.SUPPORTED and all(lim == s for _, lim, s in passed)
    # planted: the limit share is at least 1.01·s_oo (it equals s_oo): refuted, shrunk to a small link
    outcome, _ = limit_share_property(3, 2, examples=100, seed=2, low_fraction=sympy.Rational(101, 100))
    assert outcome.verdict is Verdict.REFUTED and "q=2" in outcome.counterexample


def test_collected_given_tests_draw_from_the_base_seed():
    """checks.plugin seeds every collected @given test from (base seed, node id) under the ci
    profile: the same base seed draws the same values, another base seed new ones."""
    from types import SimpleNamespace

    from checks.plugin import seed_hypothesis_test

    def draws(base_seed):
        seen = []

        @settings(max_examples=10, database=None, derandomize=False)
        @given(st.integers(0, 10**9))
        def drawn(x):
            seen.append(x)

        seed_hypothesis_test(SimpleNamespace(function=drawn, nodeid="tests/x.py::drawn"), base_seed)
        drawn()
        return seen

    assert draws(1) == draws(1)
    assert draws(1) != draws(2)
