"""Power: false claims planted through the public conjecture path are reported REFUTED.

A user's conjecture file (registering its own claims, using the project's targets, models and
decision rules) is dropped into a fresh directory and run with ``-p checks.plugin``; each planted
claim is false by the mathematics, and the audit must report it REFUTED (conjectures never fail
the run, so the run itself stays green).
"""
from __future__ import annotations

import json

import pytest

PLANTED = '''
from fractions import Fraction

import numpy as np
import torch

from checks.audit import claim_check
from checks.check_lemma2 import decide_rate_from_closed_form
from checks.check_model import check_target, n_grid_for_resolution, run_stage1_coordinates, stage1_bound_verdict, stage1_reference
from checks.check_kernel import network_below_verdict
from checks.rules import one_sided_z
from checks.evidence import Verdict
from checks.registry import Claim, Kind, register
from model import fit_kernel_ridge, sample_inputs
from theory.features import Link, RepeatedBlockFamily
from theory.hermite import Z
from theory.structured import BlockType

for claim_id, statement in [
    ("conjecture.planted.wrong-exponent", "For k = 2 the Lemma 2 gap decays as L^-1 (truth: L^-1/2)."),
    ("conjecture.planted.wrong-limit", "Stage 1 converges to P<=k h + delta p (truth: P<=k h)."),
    ("conjecture.planted.flat-link-learnable", "With g = He_2 (E g' = 0), <P_k h, p> stays >= 1/2 as L grows."),
    ("conjecture.planted.kernel-beats-plateau", "A degree-2 polynomial kernel fits h = g(p), k = q = 2, "
                                                "below the plateau ||P>2 h||^2 / Var h."),
]:
    register(Claim(claim_id, Kind.CONJECTURE, "planted by tests/test_power.py", statement))


@claim_check("conjecture.planted.wrong-exponent")
def test_wrong_exponent(audit):
    family = RepeatedBlockFamily(BlockType.hermite(2), [1], Link(Z + Z**2 - 1))
    decision = decide_rate_from_closed_form(family.expansion_in_L("stein_gap2"), claimed_decay=Fraction(1))
    audit.record(verdict=decision.verdict, rule="leading exponent of the exact closed form in L",
                 key_figure=decision.key_figure)


@claim_check("conjecture.planted.wrong-limit")
def test_wrong_limit(audit):
    target = check_target(2, 4, np.random.default_rng(5))
    reference = stage1_reference(target)
    grid = n_grid_for_resolution(reference, resolution=0.1, points=2)
    runs = run_stage1_coordinates(target, reference, n_grid=grid, seeds=list(range(6)), m1=2 * reference.dimension)
    needed = 0.1 * reference.limit_variance / reference.variance
    delta = np.sqrt(3 * needed * reference.variance / np.square(reference.feature[1:]).sum())
    decision = stage1_bound_verdict(reference.with_limit(reference.limit + delta * reference.feature), runs,
                                    resolution=0.1)
    audit.record(verdict=decision.verdict, rule="the lemma1.stage1 rule against the planted limit",
                 key_figure=decision.key_figure)


@claim_check("conjecture.planted.flat-link-learnable")
def test_flat_link_learnable(audit):
    family = RepeatedBlockFamily(BlockType.hermite(2), [1], Link(Z**2 - 1))
    cross = family.expansion_in_L("cross")          # <P_k h, p> = sum_w C_w L^-w, exactly
    limit = cross.get(Fraction(0), 0)                 # its value as L -> infinity
    audit.record(verdict=Verdict.SUPPORTED if limit >= Fraction(1, 2) else Verdict.REFUTED,
                 rule="the exact L -> infinity limit of <P_k h, p> must be >= 1/2",
                 key_figure=f"<P_k h, p> = {cross} -> {limit}")


@claim_check("conjecture.planted.kernel-beats-plateau")
def test_kernel_beats_plateau(audit):
    target = check_target(2, 6, np.random.default_rng(3))          # k = q = 2, kq = 4
    gen = torch.Generator().manual_seed(0)
    x, x_test = sample_inputs(600, 6, generator=gen), sample_inputs(4096, 6, generator=gen)
    kernel, _ = fit_kernel_ridge(x, target.evaluate(x), kernel="polynomial", degree=2, ridge=1e-6)
    h, low = target.evaluate(x_test), target.evaluate_projection(x_test, max_degree=2)
    # paired per-point estimate of (risk - plateau) / Var h, the same statistic the kernel check uses
    gap = ((kernel.predict(x_test) - h) ** 2 - (low - h) ** 2).numpy() / float(target.norm2() - target.mean() ** 2)
    verdict, key = network_below_verdict([gap.mean()], [gap.std(ddof=1) / np.sqrt(gap.size)], z=one_sided_z(1e-3))
    audit.record(verdict=verdict, rule="the kernel.lower-bound 'goes below the plateau' rule, applied to the kernel",
                 key_figure=key)
'''


def test_planted_false_claims_are_reported_refuted(pytester: pytest.Pytester):
    pytester.makepyfile(test_planted=PLANTED)
    result = pytester.runpytest_subprocess("-p", "checks.plugin", "-p", "no:cacheprovider", "--tier", "quick")
    assert result.ret == 0, result.stdout.str()  # conjectures never fail the run
    claims = {c["id"]: c for c in json.loads((pytester.path / "audit-report" / "audit.json").read_text())["claims"]}
    planted = [cid for cid in claims if cid.startswith("conjecture.planted.")]
    checked = [cid for cid in planted if claims[cid]["evidence"]]
    assert len(checked) == 4
    for cid in checked:
        assert claims[cid]["verdict"] == "REFUTED", (cid, claims[cid]["evidence"])
    table = result.stdout.str()
    for cid in checked:
        assert any(line.startswith(cid) and "REFUTED" in line for line in table.splitlines())
