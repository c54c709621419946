"""The documented path for a new conjecture works from outside the repository: a conjecture file
dropped into a fresh directory and run with plain ``pytest`` (the plugin is installed, no ``-p``)
is collected, its claim appears in the terminal claim table and in audit.json with its kind,
verdict and evidence, the paper's claims it did not run take one line, and a REFUTED conjecture
does not fail the run. ``--report-dir DIR`` (space form, an existing directory) works on the
first run and on the second. The worked example ``examples/my_conjecture.py`` is run the same way
(README, "Adding a conjecture")."""
from __future__ import annotations

import json
import os
import subprocess
import sys
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
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--tier", "quick", "--seed", "11", *args)
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
    assert claims["experiment.figure2"]["verdict"] == "MISSING"  # the paper's claims are in audit.json
    out = result.stdout.str()
    assert "experiment.figure2 " not in out  # ... and take one line in the table, not a row each
    assert "registered claims not run here (MISSING: " in out


def test_report_dir_with_a_space_twice_from_a_fresh_directory(tmp_path: Path):
    """`pytest --report-dir DIR` (DIR existing, outside the repository) twice, without -p: pytest
    must not read DIR as a test path (the options are known before it parses the command line)."""
    project, report_dir = tmp_path / "ideas", tmp_path / "reports"
    project.mkdir()
    report_dir.mkdir()  # existing: the form that pytest used to take for a test path
    (project / "test_my_idea.py").write_text(USER_CONJECTURE)
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("HIERPOLY_", "PYTEST_"))}
    for attempt in (1, 2):
        result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--tier", "quick",
                                 "--report-dir", str(report_dir)], cwd=project, capture_output=True, text=True,
                                env=environment)
        assert result.returncode == 0, f"run {attempt}:\n{result.stdout}\n{result.stderr}"
        assert "2 passed" in result.stdout, f"run {attempt}: {result.stdout}"
        report = json.loads((report_dir / "audit.json").read_text())
        claim = next(c for c in report["claims"] if c["id"] == "conjecture.user.parity")
        assert len(claim["evidence"]) == 2
        assert not (project / "audit-report").exists()


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


def test_the_readme_shows_the_worked_example_in_full():
    """The README's example is complete as printed: the file's code, imports included."""
    readme = (EXAMPLE.parents[1] / "README.md").read_text()
    source = EXAMPLE.read_text()
    code = source[source.index('"""', 3) + 3:].strip("\n")
    assert code.startswith("import ") and f"```python\n{code}\n```" in readme
