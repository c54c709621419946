"""Exact checks: Stein's lemma, Gaussian hypercontractivity, and the exact part of the kernel
lower bound (degree spectrum and plateau of h = g∘p).

Each decision rule is a plain function (``decide_*``) that the check and ``tests/`` both call;
the tests feed it wrong versions of the claims and require REFUTED. All arithmetic is exact
(sympy Rationals and real algebraic numbers), so no tolerance enters: equalities are exact
equalities and inequalities are exact comparisons.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Iterable, Sequence

import sympy

from checks.audit import claim_check
from checks.evidence import Verdict
from checks.report import figure, series
from checks.properties import PropertyOutcome, run_property
from checks.strategies import links, polynomial_link_expressions, polynomials, scaled_examples
from theory import compose, plateau_curve
from theory.features import Link, RepeatedBlockFamily
from theory.structured import BlockType
from theory.hermite import (
    Z,
    he,
    link_derivative_mean,
    link_he_coefficients,
    link_mean,
    link_poly,
)
from theory.hypercontractivity import hypercontractive_bound_power, lq_norm_power
from theory.spectrum import closed_form_spectrum, share_at_degree

AREA = "theory"




# --- stein.exact ----------------------------------------------------------------------------

def stein_sides(g) -> tuple[sympy.Expr, sympy.Expr]:
    """(E[g(z) z], E[g'(z)]) for z ~ N(0, 1), exactly."""
    poly = link_poly(g)
    return link_mean(poly * sympy.Poly(Z, Z)), link_derivative_mean(poly)


def decide_exact_identity(pairs: Sequence[tuple[object, sympy.Expr, sympy.Expr]], *,
                          identity: str) -> tuple[Verdict, str]:
    """Claim 'lhs == rhs exactly for every case' over (case, lhs, rhs) triples: SUPPORTED when
    every difference is exactly 0, else REFUTED (naming the first counterexample)."""
    if not pairs:
        raise ValueError("no cases: an identity check needs at least one case")
    bad = [(case, lhs, rhs) for case, lhs, rhs in pairs if sympy.simplify(lhs - rhs) != 0]
    if bad:
        case, lhs, rhs = bad[0]
        return Verdict.REFUTED, (f"{identity}: {len(bad)} of {len(pairs)} cases differ; first "
                                 f"{case}: {lhs} != {rhs}")
    return Verdict.SUPPORTED, f"{identity}: exact on all {len(pairs)} cases"


def stein_property(max_degree: int, *, examples: int, seed: int,
                   rhs: Callable[[sympy.Expr], sympy.Expr] | None = None) -> tuple[PropertyOutcome, list]:
    """Stein's identity as a property: for each drawn link g (degree <= max_degree; z^0..z^max
    always included), assert E[g z] == rhs(g) exactly (rhs = E[g'] by default: the claim; tests
    plant a wrong one). Returns the outcome (a shrunk counterexample on failure) and the passed
    (g, lhs, rhs) cases."""
    passed = []

    def check(g):
        lhs, true_rhs = stein_sides(g)
        right = true_rhs if rhs is None else rhs(g)
        verdict, key = decide_exact_identity([(g, lhs, right)], identity="E[g(z) z] = E[g'(z)]")
        assert verdict is Verdict.SUPPORTED, key
        passed.append((g, lhs, right))

    outcome = run_property(check, polynomial_link_expressions(max_degree=max_degree), examples=examples,
                           seed=seed, explicit=[(Z**m,) for m in range(max_degree + 1)])
    return outcome, passed


def _property_examples(tier) -> int:
    """Property examples per case (per k where the check has one): SIZES["theory"]["property_examples"],
    scaled with the loaded hypothesis profile like every example count."""
    return scaled_examples(tier.sizes(AREA)["property_examples"])


@claim_check("stein.exact", max_degree=[9])
def test_stein_exact(max_degree, audit, tier, seed):
    outcome, cases = stein_property(max_degree, examples=2 * _property_examples(tier), seed=seed)
    audit.record(
        verdict=outcome.verdict,
        rule="property (hypothesis, shrinking): for every drawn rational link g of degree <= max_degree, "
             "E[g(z)·z] - E[g'(z)] == 0 exactly (moments (2m-1)!!); REFUTED on the first counterexample, shrunk",
        key_figure=f"E[g(z) z] = E[g'(z)] {outcome.summary()}",
        parameters={"max_degree": max_degree, "examples_requested": 2 * _property_examples(tier)},
        measured={**outcome.as_measured(),
                  "largest |E[g z]| seen": max((abs(lhs) for _, lhs, _ in cases), default=0)},
        notes="hypothesis draws seeded from the per-test seed (a fresh --seed draws new links); z^0..z^max_degree "
              "always run as explicit examples",
    )


# --- hypercontractivity --------------------------------------------------------------------

@dataclass(frozen=True)
class HypercontractiveCase:
    """Exact moments of one polynomial: E f^q, E f^2, the order q and the degree k."""

    f: sympy.Expr
    moment_q: sympy.Rational
    moment_2: sympy.Rational
    q: int
    k: int
    variables: tuple = ()

    @classmethod
    def of(cls, f, variables, q: int, k: int) -> "HypercontractiveCase":
        return cls(f, lq_norm_power(f, variables, q), lq_norm_power(f, variables, 2), q, k, tuple(variables))


def decide_hypercontractivity(
    cases: Sequence[HypercontractiveCase], *,
    bound_power: Callable[[int, int], object] = hypercontractive_bound_power,
    constant: str = "(q-1)^{k/2}",
) -> tuple[Verdict, str, float]:
    """Claim ||f||_q <= C(q, k) ||f||_2 for every case, compared in q-th powers exactly:
    E f^q <= bound_power(q, k) (E f^2)^{q/2}, with bound_power = C^q. REFUTED on any violation.
    Returns (verdict, key figure, the largest ratio ||f||_q / (C ||f||_2) seen, as a float)."""
    if not cases:
        raise ValueError("no cases: a hypercontractivity check needs at least one polynomial")
    ratios = []
    for case in cases:
        bound = sympy.sympify(bound_power(case.q, case.k)) * case.moment_2 ** (case.q // 2)
        ratios.append((sympy.Rational(case.moment_q) / bound, case))
    worst_power, worst = max(ratios, key=lambda r: r[0])
    worst_ratio = float(worst_power) ** (1.0 / worst.q)  # worst_power may be irrational (planted constants)
    violations = sum(1 for r, _ in ratios if r > 1)
    qs = sorted({c.q for c in cases})
    text = (f"max ||f||_q/({constant}||f||_2) = {worst_ratio:.3g} over {len(cases)} polys "
            f"(q={','.join(map(str, qs))}; worst k={worst.k}: {worst.f})")
    if violations:
        return Verdict.REFUTED, f"{violations} of {len(cases)} violate; {text}", worst_ratio
    return Verdict.SUPPORTED, text, worst_ratio


def _hypercontractive_edge_cases(q: int) -> list[HypercontractiveCase]:
    """Deterministic extremes: He_k(x) and x^k in one variable, products of distinct variables."""
    x = sympy.symbols("x1:4")
    out = []
    for k in (1, 2, 3):
        out.append(HypercontractiveCase.of(he(k, x[0]).as_expr(), x[:1], q, k))
        out.append(HypercontractiveCase.of(x[0] ** k, x[:1], q, k))
        out.append(HypercontractiveCase.of(sympy.Mul(*x[:k]), x[:k], q, k))
    return out


#: Largest degree k drawn per order q (the exact q-th moment of a degree-k polynomial in 3 variables
#: costs a degree-kq expansion: q = 6 stops at k = 2 to stay within the quick budget).
HYPERCONTRACTIVE_MAX_DEGREE = {4: 3, 6: 2}


def hypercontractivity_property(q: int, k: int, *, examples: int, seed: int,
                                bound_power: Callable[[int, int], object] = hypercontractive_bound_power,
                                constant: str = "(q-1)^{k/2}") -> tuple[PropertyOutcome, list]:
    """Hypercontractivity as a property at one (q, k): for each drawn polynomial of degree exactly
    k in <= 3 variables (He_k, x^k and products of distinct coordinates always included), assert
    E f^q <= bound_power(q, k) (E f^2)^{q/2} exactly. Returns the outcome and the passed cases."""
    passed: list[HypercontractiveCase] = []

    def check(drawn):
        f, xs, degree = drawn
        case = HypercontractiveCase.of(f, xs, q, degree)
        verdict, key, _ = decide_hypercontractivity([case], bound_power=bound_power, constant=constant)
        assert verdict is Verdict.SUPPORTED, key
        passed.append(case)

    explicit = [((c.f, c.variables, c.k),) for c in _hypercontractive_edge_cases(q) if c.k == k]
    outcome = run_property(check, polynomials(max_vars=3, min_degree=k, max_degree=k), examples=examples,
                           seed=seed, explicit=explicit)
    return outcome, passed


@claim_check("hypercontractivity", q=[4, 6])
def test_hypercontractivity(q, audit, tier, seed):
    examples = _property_examples(tier)
    outcomes, cases = {}, []
    for k in range(1, HYPERCONTRACTIVE_MAX_DEGREE[q] + 1):
        outcomes[k], passed = hypercontractivity_property(q, k, examples=examples, seed=seed + k)
        cases += passed
    failed = {k: o for k, o in outcomes.items() if o.verdict is Verdict.REFUTED}
    if failed:
        k, bad = next(iter(failed.items()))
        verdict, key = Verdict.REFUTED, f"k={k}: {bad.summary()}"
        worst = None
    else:
        verdict, key, worst = decide_hypercontractivity(cases)
        key = f"{key}; {sum(o.examples for o in outcomes.values())} examples, all pass"
    by_degree = {}
    for case in cases:
        value = float(case.moment_q / (hypercontractive_bound_power(q, case.k)
                                       * case.moment_2 ** (q // 2))) ** (1.0 / q)
        by_degree[case.k] = max(by_degree.get(case.k, 0.0), value)
    audit.record(
        verdict=verdict,
        rule=f"property per degree k (hypothesis, shrinking): E f^{q} <= (q-1)^(k q/2) (E f^2)^(q/2) exactly "
             "(q-th powers of ||f||_q <= (q-1)^(k/2) ||f||_2; no square roots) for every drawn polynomial; "
             "REFUTED on the first counterexample, shrunk",
        key_figure=key,
        parameters={"q": q, "degrees": list(outcomes), "max_vars": 3, "examples_per_k": examples},
        measured={"max_ratio": worst, "max_ratio_by_degree": by_degree,
                  "by_k": {k: o.as_measured() for k, o in outcomes.items()}},
        notes="ratio = ||f||_q / ((q-1)^{k/2} ||f||_2) from the exact q-th powers; edge cases "
              "He_k(x), x^k and products of distinct coordinates run as explicit examples at every k",
    )


# --- kernel.lower-bound (exact part) --------------------------------------------------------

#: The paper's example targets: (k, q, link g, name). g is centred (E g = 0) with E g' != 0.
KERNEL_TARGETS = {
    "k2q2": (2, 2, Z + (Z**2 - 1) / 2, "g = z + (z^2-1)/2, quadratic feature"),
    "k3q2": (3, 2, Z + (Z**2 - 1) / 2, "g = z + (z^2-1)/2, cubic feature"),
    "k3q3": (3, 3, Z**3, "g = C_d z^3, the Section 5 target (C_d cancels in shares)"),
}
PAPER_DIMS = (16, 24, 32, 40)  # Section 5's d (L = d)


def paper_feature(k: int, signs: Sequence[int], variables) -> sympy.Expr:
    """p = L^{-1/2} Σ_i λ_i h_k(x_i) (docs/paper.md §1 example 1 with v_i = e_i, L = d): E p = 0, E p^2 = 1."""
    L = len(signs)
    if L != len(variables):
        raise ValueError(f"{L} signs for {len(variables)} variables: one component per coordinate")
    total = sum(int(s) * he(k, x).as_expr() for s, x in zip(signs, variables))
    return total / sympy.sqrt(L * sympy.factorial(k))


def gaussian_limit_share(g, q: int) -> sympy.Expr:
    """s_oo = b_q^2 / Σ_{n>=1} b_n^2 (b_n the h_n coefficients of g): the share of Var g(z) in
    its top Hermite degree, which P_{kq}(g∘p) carries when p is exactly N(0, 1)."""
    a = link_he_coefficients(g)
    energy = [a_n**2 * sympy.factorial(n) for n, a_n in enumerate(a)]  # b_n^2 = a_n^2 n!
    return energy[q] / sum(energy[1:]) if q < len(energy) else sympy.Integer(0)


def decide_top_share(shares: dict, *, degrees: dict, kq: int, low, high=1,
                     limit=None, closed_form_verified: bool | None = None) -> tuple[Verdict, str]:
    """Claim: h has degree kq and its share ||P_{kq} h||^2 / Var h lies in [low, high].

    ``shares``/``degrees``: exact values per size (L, or d with its worst sign class). With a verified
    closed form in L, ``limit`` (L -> oo) decides: SUPPORTED iff low <= limit <= high, and every
    finite share is in (0, high]. Without one, the largest size decides: SUPPORTED iff its share
    is in [low, high]; a share below ``low`` there is INCONCLUSIVE (finite-size), unless the
    claim is violated outright (a degree other than kq, a share outside (0, high] when low > 0,
    or any share outside [low, high] when the claim is about the finite values (low == high)).
    """
    if not shares:
        raise ValueError("no shares to decide on")
    low, high = sympy.sympify(low), sympy.sympify(high)
    wrong_degree = {size: deg for size, deg in degrees.items() if deg != kq}
    if wrong_degree:
        return Verdict.REFUTED, f"degree of h is not kq = {kq} at {wrong_degree}"
    values = {size: sympy.sympify(s) for size, s in shares.items()}
    smallest = min(values.values(), key=float)
    summary = (f"share at degree {kq}: min {float(smallest):.3g}, at largest size "
               f"{float(values[max(values)]):.3g}")
    if low == high and any(v != low for v in values.values()):
        return Verdict.REFUTED, f"{summary}; not exactly {low}"
    if any(v > high for v in values.values()) or (low > 0 and any(v <= 0 for v in values.values())):
        return Verdict.REFUTED, f"{summary}; outside (0, {high}]"
    if limit is not None and closed_form_verified:
        limit = sympy.sympify(limit)
        text = f"{summary}; exact L->oo limit {limit} ({float(limit):.3g}) vs required [{low}, {high}]"
        return (Verdict.SUPPORTED if low <= limit <= high else Verdict.REFUTED), text
    largest = values[max(values)]
    text = f"{summary}; required >= {low} ({float(low):.3g}) at the largest size"
    if low <= largest <= high:
        return Verdict.SUPPORTED, text
    return Verdict.INCONCLUSIVE, text


def limit_share(k: int, q: int, g) -> sympy.Expr:
    """lim_{L -> oo} ||P_kq h||² / Var h for p = L^{-1/2} Σ λ_i h_k(x_i)/sqrt(k!) with balanced λ of
    ANY signs (any k): the ratio of the weight-0 parts (P_2 = 1/N) of the structured engine's
    energies. Exact; the same for every sign pattern (the parts that depend on signs have weight > 0)."""
    psi = BlockType.hermite(k)
    family = RepeatedBlockFamily(psi, [1], Link(g))
    N = sympy.Rational(psi.norm2.numerator, psi.norm2.denominator)
    limits = []
    for j in range(1, k * q + 1):
        part = family.polynomial(f"energy_{j}").substitute({(0, 2): 1 / N}).by_weight().get(Fraction(0))
        limits.append(sympy.Integer(0) if part is None else sympy.sympify(part.as_expr()))
    total = sum(limits)
    if total == 0:
        raise ValueError(f"Var h -> 0 for g = {g}: the share is undefined")
    return sympy.simplify(limits[-1] / total)  # not nsimplify: it can turn an exact rational into radicals


def limit_share_property(k: int, q: int, *, examples: int, seed: int, low_fraction=sympy.Rational(1, 2),
                         links_strategy=None) -> tuple[PropertyOutcome, list]:
    """The Θ(1) share as a property over drawn links g of degree exactly q (centred, E g' != 0):
    assert lim_L ||P_kq h||² / Var h >= low_fraction · s_oo(g), exactly. Returns the outcome and the
    passed (g, limit, s_oo) triples. ``links_strategy``/``low_fraction``: tests plant wrong claims."""
    passed = []

    def check(link):
        g = link.expr
        limit, s_inf = limit_share(k, q, g), gaussian_limit_share(g, q)
        assert limit >= low_fraction * s_inf, f"lim share {limit} < {low_fraction}·s_oo = {low_fraction * s_inf}"
        passed.append((g, limit, s_inf))

    strategy = links(min_degree=q, max_degree=q) if links_strategy is None else links_strategy
    return run_property(check, strategy, examples=examples, seed=seed), passed


def _energies(k: int, g, signs) -> list:
    xs = sympy.symbols(f"x1:{len(signs) + 1}")
    return compose(g, Z, paper_feature(k, signs, xs), xs).degree_energies()


@claim_check("kernel.lower-bound", target=list(KERNEL_TARGETS))
def test_kernel_lower_bound_exact(target, audit, tier, seed):
    k, q, g, description = KERNEL_TARGETS[target]
    kq = k * q
    sizes = tier.sizes(AREA)
    s_inf = gaussian_limit_share(g, q)
    required = s_inf / 2
    shares, degrees, plateaus, figures = {}, {}, {}, []
    measured: dict = {"gaussian_limit_share": s_inf, "required_share": required}
    limit, verified = None, None
    if k % 2:
        # Odd k: flipping x_i -> -x_i maps λ_i -> -λ_i and preserves every P_j energy, so λ = 1
        # is general; L^q ||P_j h||^2 is then a polynomial of degree <= 2q in L (closed form).
        closed = closed_form_spectrum(lambda L: _energies(k, g, [1] * L), scale_power=q,
                                      degree_bound=2 * q, extra_points=sizes["closed_form_extra"],
                                      far_points=sizes["closed_form_far_L"])
        verified = closed.verified
        limit = closed.limit_share(kq)
        fit_L = range(1, 2 * q + 2)
        for L in fit_L:
            shares[L] = closed.share(kq, L)
            degrees[L] = max(j for j in range(len(closed.scaled)) if closed.energy(j, L) != 0)
            plateaus[L] = [float(closed.plateau(ell, L)) for ell in range(kq + 1)]
        crossing = next((L for L in _geometric_L(10**7) if closed.share(kq, L) >= required), None)
        measured.update({
            "closed_form_verified_at_L": list(closed.verified_at),
            "closed_form_verified": verified,
            "limit_share": limit,
            "limit_equals_gaussian_share": bool(limit == s_inf),
            "first_L_with_share_at_least_required (1-2-5 grid)": crossing,
            "share_at_paper_d": {L: float(closed.share(kq, L)) for L in PAPER_DIMS},
            "plateau_at_paper_d": {L: [float(closed.plateau(ell, L)) for ell in range(kq + 1)]
                                   for L in PAPER_DIMS},
            "scaled_energy_polynomials_in_L": [str(P.as_expr()) for P in closed.scaled],
            "limit_plateau": [float(closed.limit_plateau(ell)) for ell in range(kq + 1)],
        })
        curve_L = list(_geometric_L(10**6))
        figures.append(figure(
            f"kernel-share-{target}", title=f"share of Var h at degree kq={kq} ({target})",
            xlabel="L = d", ylabel="||P_kq h||^2 / Var h", xscale="log",
            series_list=[series("exact closed form", curve_L, [float(closed.share(kq, L)) for L in curve_L]),
                         series("Gaussian limit s_oo", curve_L, [float(s_inf)] * len(curve_L), style="guide"),
                         series("required s_oo/2", curve_L, [float(required)] * len(curve_L), style="guide")]))
    else:
        # Even k: the signs matter; by symmetry only the number m of negative λ_i does, so every
        # sign class m = 0..d is computed and the worst one taken per d.
        by_class = {}
        for d in sizes["k2_dims"]:
            xs = sympy.symbols(f"x1:{d + 1}")
            for m in range(d + 1):
                h = compose(g, Z, paper_feature(k, [-1] * m + [1] * (d - m), xs), xs)
                by_class[(d, m)] = share_at_degree(h, kq)
                if h.degree != kq or d not in degrees:  # keep any degree other than kq
                    degrees[d] = h.degree
                if m == d // 2:  # balanced signs: the plateau shown
                    plateaus[d] = [float(v) for v in plateau_curve(h)]
            shares[d] = min((v for (dd, _), v in by_class.items() if dd == d), key=float)
        measured["share_by_d_and_negative_count"] = {f"d={d},m={m}": float(v)
                                                     for (d, m), v in by_class.items()}
        # The limit, uniform over signs: the structured engine's energies as power-sum polynomials;
        # with P_2 fixed by normalisation every P_r (r >= 3) is O(L^{1-r/2}) for balanced λ of any
        # signs, so the weight-0 parts are the L -> oo energies whatever the sign pattern.
        limit = limit_share(k, q, g)
        checked = {}
        for motif, class_of in (([1], lambda d: 0), ([-1], lambda d: d), ([1, -1], lambda d: d // 2)):
            family = RepeatedBlockFamily(BlockType.hermite(k), motif, Link(g))
            for d in sizes["k2_dims"]:
                if d % len(motif) == 0:
                    engine = family.value(f"energy_{kq}", d) / sum(family.value(f"energy_{j}", d)
                                                                   for j in range(1, kq + 1))
                    checked[f"motif={motif},d={d}"] = sympy.simplify(engine - by_class[(d, class_of(d))]) == 0
        verified = all(checked.values())
        measured.update({"limit_share": limit, "limit_equals_gaussian_share": bool(limit == s_inf),
                         "engine_matches_naive_expansion": checked})
    verdict, key = decide_top_share(shares, degrees=degrees, kq=kq, low=required, limit=limit,
                                    closed_form_verified=verified)
    drawn, drawn_passed = limit_share_property(k, q, examples=_property_examples(tier), seed=seed)
    measured["drawn_links"] = {**drawn.as_measured(),
                               "limit_equals_gaussian_share": sum(lim == s for _, lim, s in drawn_passed),
                               "smallest_limit_over_s_oo": float(min((lim / s for _, lim, s in drawn_passed), default=1))}
    if drawn.verdict is Verdict.REFUTED:
        verdict, key = Verdict.REFUTED, f"drawn link: {drawn.summary()}"
    if verified is False:
        verdict, key = Verdict.INCONCLUSIVE, key + "; closed form failed its verification point"
    key = f"{target}: {key}"
    measured["plateau_by_size"] = {str(size): values for size, values in plateaus.items()}
    figures.append(figure(
        f"kernel-plateau-{target}", title=f"plateau 1 - ||P_<=l h||^2/Var h ({target})",
        xlabel="l", ylabel="plateau", series_list=[
            series(f"size {size}", list(range(len(v))), v, style="line") for size, v in plateaus.items()]))
    audit.record(
        verdict=verdict,
        rule=(f"deg h = kq = {kq} and ||P_kq h||^2 / Var h >= s_oo/2 = {required}, with s_oo = "
              "b_q^2/Σ_{n>=1} b_n^2 the share of g's top Hermite degree (the value for Gaussian p); "
              "odd k: decided by the exact L->oo limit of the verified closed form in L; even k: by the exact "
              "L->oo limit uniform over sign patterns (weight-0 parts of the structured engine's energies, "
              "cross-checked against the naive expansion at every d and sign class shown), with every finite "
              "share of every sign class in (0, 1]; and, as a property (hypothesis, shrinking), the exact limit "
              f">= s_oo/2 for every drawn link of degree q = {q} with E g' != 0"),
        key_figure=key,
        parameters={"target": target, "k": k, "q": q, "link": str(g), "feature":
                    "p = L^{-1/2} Σ λ_i h_k(x_i), L = d, λ_i = ±1"},
        measured=measured,
        figures=figures,
        notes=(f"{description}. Exact part of the kernel bound only: the degree spectrum and the "
               "plateau a degree-<=l learner cannot pass; whether kernel methods reach it is "
               "checked elsewhere. Level s_oo/2 (derivation, README 'Levels and their reasons'): the claim is "
               "a Θ(1) share; for balanced λ p -> N(0,1) with all moments, so the exact limit equals s_oo "
               "(measured: limit_equals_gaussian_share). The verdict is decided on the exact limit, for "
               "which every level in (0, s_oo] gives the same answer; s_oo/2 is the pre-registered "
               "midpoint and does not steer the verdict. REFUTED if the limit falls below it or a finite "
               "share leaves (0, 1]."),
    )


def _geometric_L(stop: int) -> Iterable[int]:
    """1, 2, 5, 10, 20, 50, ... up to ``stop``."""
    scale = 1
    while scale <= stop:
        for m in (1, 2, 5):
            if m * scale <= stop:
                yield m * scale
        scale *= 10
