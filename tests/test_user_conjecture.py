"""The documented path for a new conjecture works from outside the repository: a conjecture file
dropped into a fresh directory and run with ``-p checks.plugin`` is collected, its claim appears in
the terminal claim table and in audit.json with its kind, verdict and evidence, and a REFUTED
conjecture does not fail the run. The worked example ``examples/my_conjecture.py`` is run the
same way (README, "Adding a conjecture")."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "my_conjecture.py"

USER_CONJECTURE = '''
from checks.audit import claim_check
from checks.evidence import Verdict
from checks.registry import Claim, Kind, register

register(Claim("conjecture.user.parity", Kind.CONJECTURE, "a user's notebook",
               "Every even number is the sum of two squares.", ("integers",)))


@claim_check("conjecture.user.parity", n=[4, 6])
def test_parity(n, audit):
    hits = [(a, b) for a in range(n + 1) for b in range(a, n + 1) if a * a + b * b == n]
    audit.record(verdict=Verdict.SUPPORTED if hits else Verdict.REFUTED,
                 rule="some a, b with a^2 + b^2 = n", key_figure=f"n={n}: {hits or 'none'}",
                 parameters={"n": n}, measured={"representations": len(hits)})
'''


def _run(pytester: pytest.Pytester, *args: str):
    result = pytester.runpytest_subprocess("-p", "checks.plugin", "-p", "no:cacheprovider", "--tier", "quick",
                                           "--seed", "11", *args)
    report = json.loads((pytester.path / "audit-report" / "audit.json").read_text())
    return result, {c["id"]: c for c in report["claims"]}


def _table_row(result, claim_id: str) -> str:
    out = result.stdout.str()
    table = out[out.index("hierpoly claim audit"):].splitlines()
    return next(line for line in table if line.startswith(claim_id + " "))


def test_a_dropped_conjecture_file_is_collected_and_reported(pytester: pytest.Pytester):
    pytester.makepyfile(test_my_idea=USER_CONJECTURE)  # a fresh directory: no conftest, no config
    result, claims = _run(pytester)
    result.assert_outcomes(passed=2)  # n=6 refutes the conjecture, which never fails the run
    assert result.ret == 0
    claim = claims["conjecture.user.parity"]
    assert claim["kind"] == "conjecture" and claim["source"] == "a user's notebook"
    assert claim["verdict"] == "REFUTED"
    assert sorted(ev["parameters"]["n"] for ev in claim["evidence"]) == [4, 6]
    assert {ev["check"].split("::")[-1] for ev in claim["evidence"]} == {
        "test_parity[conjecture.user.parity[n=4]]", "test_parity[conjecture.user.parity[n=6]]"}
    row = _table_row(result, "conjecture.user.parity")
    assert "conjecture" in row and "REFUTED" in row
    assert claims["experiment.figure2"]["verdict"] == "MISSING"  # the paper's claims are listed too


def test_a_dropped_conjecture_runs_under_xdist(pytester: pytest.Pytester):
    pytester.makepyfile(test_my_idea=USER_CONJECTURE)
    result, claims = _run(pytester, "-n", "2")
    result.assert_outcomes(passed=2)
    assert len(claims["conjecture.user.parity"]["evidence"]) == 2  # evidence from both workers merged


@pytest.mark.training
def test_the_worked_example_runs_from_a_fresh_directory(pytester: pytest.Pytester):
    pytester.makepyfile(test_my_conjecture=EXAMPLE.read_text())
    result, claims = _run(pytester)
    result.assert_outcomes(passed=1)
    (claim_id,) = [cid for cid, c in claims.items() if c["source"] == "examples/my_conjecture.py"]
    claim = claims[claim_id]
    assert claim["kind"] == "conjecture" and claim["verdict"] in ("SUPPORTED", "REFUTED", "INCONCLUSIVE")
    assert claim["evidence"] and all(ev["rule"] for ev in claim["evidence"])
    assert claim["verdict"] in _table_row(result, claim_id)
