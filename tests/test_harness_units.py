"""Unit tests of the harness: registry, verdict logic, evidence records, seeds, tiers."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, strategies as st

from checks.audit import AuditRecorder, case_id, claim_check
from checks.evidence import Evidence, Interval, Tolerance, Verdict, combine, fails_run
from checks.registry import Claim, Kind, UnknownClaimError, get_claim, registered_ids
from checks.seeds import derive_seed, numpy_generator, torch_generator
from checks.stats import probability_at_least, verdict_at_least, verdict_at_most
from checks.tiers import Tier, resolve_tier

REQUIRED_IDS = {
    "stein.exact": "claim", "hypercontractivity": "claim", "lemma2.degree-k": "claim",
    "lemma2.lower-degrees": "claim", "lemma1.stage1": "claim", "theorem1.sample-complexity": "claim",
    "theorem1.stage2": "claim", "kernel.lower-bound": "claim", "corollary.quadratic": "claim",
    "experiment.figure2": "claim", "probe.information-exponent": "probe",
    "probe.few-components": "probe", "probe.non-gaussian": "probe",
    # their rules can only report (no reachable REFUTED branch), hence the kind that says so
    "probe.unbalanced": "report", "probe.activation-degree": "report", "probe.narrow-width": "report",
    "conjecture.general-tensor": "conjecture", "conjecture.multi-feature": "conjecture",
    "conjecture.joint-training": "conjecture",
}


def test_every_paper_result_is_registered_with_its_kind():
    assert set(REQUIRED_IDS) <= set(registered_ids())
    for cid, kind in REQUIRED_IDS.items():
        claim = get_claim(cid)
        assert claim.kind.value == kind
        assert claim.source and claim.statement


def test_unknown_claim_id_names_the_id_and_suggests():
    with pytest.raises(UnknownClaimError, match=r"'lemma2\.degre-k'.*did you mean 'lemma2\.degree-k'"):
        get_claim("lemma2.degre-k")


def test_claim_check_rejects_unknown_id_at_decoration():
    with pytest.raises(UnknownClaimError, match="no.such-claim"):
        claim_check("no.such-claim")


def test_claim_check_rejects_scalar_cases():
    with pytest.raises(TypeError, match="sequence"):
        claim_check("stein.exact", q=3)


@pytest.mark.parametrize("bad", ["Lemma2", "lemma2..x", "", "a b"])
def test_claim_ids_must_be_dotted_lower_case(bad):
    with pytest.raises(ValueError, match="dotted"):
        Claim(bad, Kind.CLAIM, "src", "statement")


def test_case_id_reads_like_a_spec_clause():
    assert case_id("lemma2.degree-k", {"k": 3, "L": 64}) == "lemma2.degree-k[k=3,L=64]"
    assert case_id("stein.exact", {}) == "stein.exact"


verdicts = st.sampled_from([Verdict.SUPPORTED, Verdict.REFUTED, Verdict.INCONCLUSIVE])


@given(st.lists(verdicts, max_size=6))
def test_combine_any_refuted_refutes_all_supported_supports(vs):
    got = combine(vs)
    if not vs:
        assert got is Verdict.MISSING
    elif Verdict.REFUTED in vs:
        assert got is Verdict.REFUTED
    elif all(v is Verdict.SUPPORTED for v in vs):
        assert got is Verdict.SUPPORTED
    else:
        assert got is Verdict.INCONCLUSIVE


def _ev(verdict, predicts_break=False):
    return Evidence(claim_id="x", verdict=verdict, rule="r", predicts_break=predicts_break)


@pytest.mark.parametrize(
    "kind, verdict, predicts_break, fails",
    [
        ("claim", Verdict.REFUTED, False, True),
        ("claim", Verdict.INCONCLUSIVE, False, False),
        ("claim", Verdict.SUPPORTED, False, False),
        ("probe", Verdict.REFUTED, True, True),      # predicted break did not appear
        ("probe", Verdict.REFUTED, False, False),    # report-only probe
        ("conjecture", Verdict.REFUTED, False, False),
    ],
)
def test_which_records_fail_the_run(kind, verdict, predicts_break, fails):
    assert fails_run(kind, _ev(verdict, predicts_break)) is fails


def test_evidence_round_trips_through_json():
    ev = Evidence(claim_id="stein.exact", verdict="SUPPORTED", rule="exact equality", key_figure="0",
                  interval=Interval(0.1, 0.2, 0.95, "t"), tolerance=Tolerance(1e-12, "16 eps"),
                  measured={"gap": 0.0}, false_failure_budget=0.001)
    back = Evidence.from_dict(json.loads(ev.to_json()))
    assert back == ev


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(verdict="MISSING"), "MISSING"),
        (dict(verdict="SUPPORTED", rule=" "), "decision rule"),
        (dict(verdict="SUPPORTED", false_failure_budget=2.0), "probability"),
        (dict(verdict="MAYBE"), "MAYBE"),
    ],
)
def test_evidence_refuses_malformed_records(kwargs, match):
    kwargs.setdefault("rule", "r")
    with pytest.raises(ValueError, match=match):
        Evidence(claim_id="x", **kwargs)


def test_tolerance_needs_a_reason_and_a_finite_value():
    with pytest.raises(ValueError, match="reason"):
        Tolerance(1e-9, "")
    with pytest.raises(ValueError, match="finite"):
        Tolerance(float("nan"), "budget")


def test_recorder_defaults_to_its_claim_and_rejects_break_on_claims():
    rec = AuditRecorder(node_id="n", seed=1, base_seed=2, default_claim_id="probe.few-components")
    ev = rec.record(verdict="REFUTED", rule="gap must stay > 0", predicts_break=True)
    assert ev.claim_id == "probe.few-components" and rec.failing() == [ev]
    assert "predicted break did not appear" in rec.failure_message()
    with pytest.raises(ValueError, match="predicts_break is for probes"):
        rec.record("stein.exact", verdict="SUPPORTED", rule="r", predicts_break=True)
    with pytest.raises(UnknownClaimError):
        rec.record("stein.exactly", verdict="SUPPORTED", rule="r")


def test_seed_derivation_is_a_pure_function_of_base_and_node_id():
    a = derive_seed(1, "tests/x.py::t[a]")
    assert a == derive_seed(1, "tests/x.py::t[a]")
    assert a != derive_seed(2, "tests/x.py::t[a]")
    assert a != derive_seed(1, "tests/x.py::t[b]")
    assert 0 <= a < 2**63
    assert numpy_generator(a).integers(1 << 30) == numpy_generator(a).integers(1 << 30)
    import torch

    assert torch.equal(torch.rand(3, generator=torch_generator(a)), torch.rand(3, generator=torch_generator(a)))


def test_unknown_tier_is_an_error():
    with pytest.raises(ValueError, match="unknown tier 'medium'"):
        resolve_tier("medium")
    with pytest.raises(ValueError, match="unknown tier"):
        Tier("medium")


def test_interval_rules_and_binomial_rule_reject_wrong_claims():
    assert verdict_at_most(Interval(0.1, 0.2), 0.5) is Verdict.SUPPORTED
    assert verdict_at_most(Interval(0.6, 0.9), 0.5) is Verdict.REFUTED
    assert verdict_at_most(Interval(0.4, 0.6), 0.5) is Verdict.INCONCLUSIVE
    assert verdict_at_least(Interval(0.6, 0.9), 0.5) is Verdict.SUPPORTED
    assert verdict_at_least(Interval(0.1, 0.2), 0.5) is Verdict.REFUTED
    verdict, msg = probability_at_least(40, 100, 0.9, alpha=0.01)
    assert verdict is Verdict.REFUTED and "estimate 40/100 = 0.4 < 0.9" in msg
    assert probability_at_least(99, 100, 0.9, alpha=0.01)[0] is Verdict.SUPPORTED


def test_a_report_names_the_commit_and_the_device_it_ran_on():
    import re
    import time as _time

    from checks.report import build_report

    run = build_report(evidence=[], durations={}, tier="quick", base_seed=1, device="cpu", started=_time.time())["run"]
    assert run["device_name"] == "cpu"
    # in this repository's checkout: a 40-hex commit, "-dirty" while tracked files have changes
    assert run["commit"] is None or re.fullmatch(r"[0-9a-f]{40}(-dirty)?", run["commit"])
