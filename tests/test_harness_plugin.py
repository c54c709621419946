"""The plugin end to end, in inner pytest runs: merge across xdist workers (and determinism
under -n 0, -n 2 and reversed test order), the JSON schema, MISSING detection (one summary line
for the claims a run did not select), failing rules per kind, a check that records nothing fails,
seeds and a working rerun command printed on failure, unknown ids rejected, a user's own conjecture
reported, and the plugin inert in a run without claim checks. The plugin loads as an installed
pytest plugin (the pytest11 entry point): no run below passes ``-p checks.plugin``."""
from __future__ import annotations

import json

import pytest

CHECKS = '''
from checks.audit import claim_check
from checks.evidence import Verdict
from checks.registry import Claim, Kind, register

register(Claim("conjecture.user-demo", Kind.CONJECTURE, "a user", "A user's own conjecture."))

@claim_check("stein.exact", q=[1, 2, 3, 4])
def test_stein(q, audit, rng):
    audit.record(verdict=Verdict.SUPPORTED, rule="planted", key_figure=f"q={q} u={rng.random():.6f}")

@claim_check("hypercontractivity")
def test_refuted_claim(audit):
    audit.record(verdict=Verdict.REFUTED, rule="planted refutation", key_figure="ratio 2 > 1")

@claim_check("probe.few-components")
def test_probe_break_absent(audit):
    audit.record(verdict=Verdict.REFUTED, rule="gap must stay", predicts_break=True, key_figure="gap 0")

@claim_check("probe.unbalanced")
def test_probe_report_only(audit):
    audit.record(verdict=Verdict.REFUTED, rule="report", key_figure="reported")

@claim_check("conjecture.user-demo")
def test_user_conjecture(audit, seed):
    audit.record(verdict=Verdict.REFUTED, rule="never fails", key_figure=f"seed {seed}")
'''

REVERSED_ORDER = '''
def pytest_collection_modifyitems(items):
    items.reverse()
'''

EXPECTED_OUTCOMES = {"passed": 6, "failed": 2}


def _run(pytester: pytest.Pytester, *args: str):
    pytester.makepyfile(check_demo=CHECKS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--seed", "7", "--tier", "quick", "-o", "python_files=check_*.py",
                                           *args)
    report = json.loads((pytester.path / "audit-report" / "audit.json").read_text())
    return result, report


def _claims(report):
    return {c["id"]: c for c in report["claims"]}


def test_audit_merges_workers_and_agrees_with_serial_run(pytester: pytest.Pytester):
    serial, serial_report = _run(pytester)
    parallel, parallel_report = _run(pytester, "-n", "2")
    pytester.makeconftest(REVERSED_ORDER)
    reversed_run, reversed_report = _run(pytester)
    for result in (serial, parallel, reversed_run):
        result.assert_outcomes(**EXPECTED_OUTCOMES)
    for report in (serial_report, parallel_report, reversed_report):
        claims = _claims(report)
        assert claims["stein.exact"]["verdict"] == "SUPPORTED"
        assert len(claims["stein.exact"]["evidence"]) == 4  # from both workers
        assert claims["hypercontractivity"]["verdict"] == "REFUTED"
        assert claims["probe.few-components"]["verdict"] == "REFUTED"
        assert claims["conjecture.user-demo"]["kind"] == "conjecture"  # known only to the workers
        assert claims["lemma2.degree-k"]["verdict"] == "MISSING"
        assert claims["lemma2.degree-k"]["evidence"] == []
    # Same base seed: same per-test seeds, hence the same measured values, under -n 0 and -n 2.
    def key(rep):
        return {(e["check"], e["seed"], e["key_figure"]) for c in rep["claims"] for e in c["evidence"]}

    assert key(serial_report) == key(parallel_report) == key(reversed_report)
    assert serial_report["counts"] == parallel_report["counts"] == reversed_report["counts"]

    # Schema.
    report = parallel_report
    assert report["schema"] == "hierpoly-audit/1"
    assert {"tier", "base_seed", "device", "versions", "duration_s"} <= set(report["run"])
    assert report["run"]["tier"] == "quick" and report["run"]["base_seed"] == 7
    for claim in report["claims"]:
        assert {"id", "kind", "source", "statement", "verdict", "evidence"} <= set(claim)
        for ev in claim["evidence"]:
            assert {"parameters", "seed", "measured", "interval", "tolerance", "rule", "verdict"} <= set(ev)

    # The terminal table and audit.md agree with the JSON: a row for every claim this run checked,
    # one line for the registered claims it did not select (not a MISSING row each).
    out = parallel.stdout.str()
    table = out[out.index("hierpoly claim audit"):].splitlines()
    md = (pytester.path / "audit-report" / "audit.md").read_text()
    run = [c for c in report["claims"] if c["run"]]
    not_run = [c for c in report["claims"] if not c["run"]]
    assert {c["id"] for c in run} == {"stein.exact", "hypercontractivity", "probe.few-components",
                                      "probe.unbalanced", "conjecture.user-demo"}
    for claim in run:
        row = next(line for line in table if line.startswith(claim["id"] + " "))
        assert claim["verdict"] in row and claim["kind"] in row
        assert f"| `{claim['id']}` | {claim['kind']} | **{claim['verdict']}** |" in md
    assert all(c["verdict"] == "MISSING" for c in not_run)
    assert not any(line.startswith("lemma2.degree-k ") for line in table)
    summary_line = f"{len(not_run)} registered claims not run here (MISSING: "
    assert sum(line.startswith(summary_line) for line in table) == 1 and summary_line in md

    # A failure prints its seeds and the command that reruns it.
    assert "hierpoly seed" in out and "base seed 7" in out
    assert "rerun: pytest 'check_demo.py::test_refuted_claim[hypercontractivity]' --seed 7 --tier quick" in out
    assert "predicted break did not appear" in out


def test_unregistered_claim_id_fails_collection_naming_it(pytester: pytest.Pytester):
    pytester.makepyfile(check_typo='''
from checks.audit import claim_check

@claim_check("lemma2.degre-k")
def test_typo(audit):
    pass
''')
    result = pytester.runpytest_subprocess("-o", "python_files=check_*.py")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*unknown claim id 'lemma2.degre-k'*did you mean 'lemma2.degree-k'*"])


BUDGET_CHECKS = '''
from checks.audit import claim_check
from checks.evidence import Verdict

@claim_check("lemma1.stage1", i=list(range(3)))
def test_spends_budget(i, audit):
    audit.record(verdict=Verdict.SUPPORTED, rule="planted", false_failure_budget=0.004)

@claim_check("conjecture.joint-training")
def test_conjecture_budget_is_free(audit):
    audit.record(verdict=Verdict.SUPPORTED, rule="planted", false_failure_budget=0.5)
'''


def test_run_fails_when_declared_false_failure_budgets_exceed_the_limit(pytester: pytest.Pytester):
    pytester.makepyfile(check_budget=BUDGET_CHECKS)
    result = pytester.runpytest_subprocess("-o", "python_files=check_*.py")
    result.assert_outcomes(passed=4)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    report = json.loads((pytester.path / "audit-report" / "audit.json").read_text())
    assert report["false_failure_budget"]["total"] == pytest.approx(0.012)  # conjectures do not gate
    result.stdout.fnmatch_lines(["*false-failure budget*0.012*EXCEEDED*"])


def test_a_claim_check_that_records_no_evidence_fails_naming_the_claim(pytester: pytest.Pytester):
    pytester.makepyfile(test_silent='''
from checks.audit import claim_check

@claim_check("stein.exact")
def test_forgot_to_record(audit):
    assert 1 + 1 == 2

@claim_check("hypercontractivity")
def test_without_the_audit_fixture():
    pass
''')
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines([
        "*stein.exact: the check test_forgot_to_record[[]stein.exact[]] recorded no evidence*",
        "*hypercontractivity: the check test_without_the_audit_fixture[[]hypercontractivity[]] recorded no evidence*",
    ])


def test_the_plugin_is_inert_in_a_run_without_claim_checks(pytester: pytest.Pytester):
    pytester.makepyfile(test_plain="def test_other_projects_test():\n    assert True\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "hierpoly claim audit" not in result.stdout.str()
    assert not (pytester.path / "audit-report").exists()


def test_the_printed_rerun_command_works_as_printed(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    pytester.makepyfile(test_refuted='''
from checks.audit import claim_check
from checks.evidence import Verdict

@claim_check("hypercontractivity", case=[1, 2])
def test_refuted(case, audit):
    audit.record(verdict=Verdict.REFUTED if case == 2 else Verdict.SUPPORTED, rule="planted")
''')
    # Started from a subdirectory, so the node id (relative to the rootdir) is not the path to type.
    monkeypatch.chdir(pytester.mkdir("sub"))
    first = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--seed", "5", "--tier", "quick", "..")
    first.assert_outcomes(passed=1, failed=1)
    (command,) = [line.split("rerun: ", 1)[1] for line in first.stdout.lines if "rerun: " in line]
    assert command == "pytest '../test_refuted.py::test_refuted[hypercontractivity[case=2]]' --seed 5 --tier quick"
    again = pytester.runpytest_subprocess("-p", "no:cacheprovider", *command.replace("'", "").split()[1:])
    again.assert_outcomes(failed=1)
