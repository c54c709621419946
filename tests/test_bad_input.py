"""Bad input, as tables: each row is tried, and each must raise an error that names the problem
(or, for the paper's assumptions, be reported by name, or for the command line end in a usage
error or a line that says what is wrong), never yield a number silently or a raw traceback.

The same rows are listed for users in README.md ("Bad input"); a test keeps the two in step.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pytest
import sympy
import torch

from theory.assumptions import BALANCED, NORMALISED, ORTHOGONAL

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class BadInput:
    name: str          # the row's name in README.md
    attempt: Callable[[], object]
    error: type[BaseException]
    message: str       # regex the message must match


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _target(d: int = 4):
    from theory.features import BlockFeature, HierarchicalTarget, Link
    from theory.hermite import Z

    return HierarchicalTarget(BlockFeature.decomposable_on_coordinates([1] * d, 3, d=d), Link(Z**3))


def _layerwise(**overrides):
    from model import train_layerwise

    kwargs = dict(d=4, n1=200, n2=200, m1=50, m2=10, ridge1=1e-3, ridge2=1e-3, generator=_gen())
    kwargs.update(overrides)
    return train_layerwise(_target(), **kwargs)


def _non_polynomial_link():
    from theory.features import Link
    from theory.hermite import Z

    return Link(sympy.sin(Z))


def _wrong_degree_feature():
    from theory.features import PolynomialFeature

    x0, x1 = sympy.symbols("x0 x1")  # PolynomialFeature's variables are x0..x{d-1}
    return PolynomialFeature(x0**3 + x1, d=2, k=2)


def _nan_labels():
    from model import fit_kernel_ridge

    x = torch.randn(20, 3, dtype=torch.float64, generator=_gen())
    y = torch.randn(20, dtype=torch.float64, generator=_gen(1))
    y[5] = float("nan")
    return fit_kernel_ridge(x, y, kernel="polynomial", ridge=1e-3)


def _inf_features():
    from model import ridge_solve

    features = torch.ones(30, 4, dtype=torch.float64)
    features[0, 0] = float("inf")
    return ridge_solve(features, torch.zeros(30, dtype=torch.float64), 1e-3)


def _diverging_run():
    from model import train_joint

    return train_joint(_target(), d=4, n=200, m1=16, m2=20, generator=_gen(), lr=1e3)


def _unknown_tier():
    from checks.tiers import resolve_tier

    return resolve_tier("medium")


def _zero_weight_target():
    from theory.features import BlockFeature, HierarchicalTarget, Link
    from theory.hermite import Z

    return HierarchicalTarget(BlockFeature.decomposable_on_coordinates([0] * 4, 3), Link(Z**3))


def _constant_link_target():
    from theory.features import BlockFeature, HierarchicalTarget, Link

    return HierarchicalTarget(BlockFeature.decomposable_on_coordinates([1] * 4, 3), Link(sympy.Integer(5)))


def _nan_samples():
    x = np.zeros((5, 4))
    x[2, 1] = np.nan
    return _target().evaluate(x)


def _float_weight():
    from theory.features import Weights

    return Weights([1, 0.5])


def _float_link_coefficient():
    from theory.features import Link
    from theory.hermite import Z

    return Link(0.5 * Z)


def _polynomial_kernel_without_degree():
    from model import fit_kernel_ridge

    x = torch.randn(20, 3, dtype=torch.float64, generator=_gen())
    return fit_kernel_ridge(x, torch.zeros(20, dtype=torch.float64), kernel="polynomial", ridge=1e-3)


def _misspelled_user_claim():
    from checks.audit import claim_check
    from checks.registry import Claim, Kind, register

    register(Claim("conjecture.my-idea", Kind.CONJECTURE, "a user", "My idea holds."))
    return claim_check("conjecture.my-ideaa")


ROWS = [
    BadInput("non-polynomial link g", _non_polynomial_link, ValueError, r"sin\(z\) is not a polynomial in z"),
    BadInput("p of the wrong degree", _wrong_degree_feature, ValueError, r"p has degree 3, not k = 2"),
    BadInput("samples of the wrong dimension", lambda: _target().evaluate(np.zeros((5, 3))), ValueError,
             r"samples must have shape \(n, 4\), got \(5, 3\)"),
    BadInput("d that does not fit the target", lambda: _layerwise(d=5), ValueError, r"shape \(n, 4\)"),
    BadInput("zero width", lambda: _layerwise(m1=0), ValueError, r"m1 must be a positive integer, got 0"),
    BadInput("negative width", lambda: _layerwise(m2=-3), ValueError, r"m2 must be a positive integer, got -3"),
    BadInput("n too small for the solver", lambda: _layerwise(n1=10, ridge1=0.0), ValueError,
             r"least squares .* needs n >= m"),
    BadInput("NaN in the labels", _nan_labels, ValueError, r"NaN or inf"),
    BadInput("inf in the features", _inf_features, ValueError, r"non-finite"),
    BadInput("a diverging training run", _diverging_run, FloatingPointError, r"training diverged"),
    BadInput("feature degree k < 1", lambda: _layerwise(k=0), ValueError,
             r"the feature degree k must be a positive integer, got 0"),
    BadInput("unknown tier", _unknown_tier, ValueError, r"unknown tier 'medium': choose one of quick, full"),
    BadInput("misspelled claim id in a user conjecture", _misspelled_user_claim, KeyError,
             r"unknown claim id 'conjecture\.my-ideaa'.*did you mean 'conjecture\.my-idea'"),
    BadInput("correlation with a constant link", lambda: _constant_link_target().stage1_population_corr(),
             ValueError, r"0/0 .*P<=k h is constant"),
    BadInput("correlation with λ = 0", lambda: _zero_weight_target().stage1_population_corr(),
             ValueError, r"0/0 .*p is constant"),
    BadInput("NaN in the samples", _nan_samples, ValueError, r"samples contain NaN or inf"),
    # One rule for exact inputs: floats are refused, for λ as for a link's coefficients.
    BadInput("float λ", _float_weight, ValueError, r"λ_2 = 0\.5 is a float: give an exact number"),
    BadInput("float link coefficient", _float_link_coefficient, ValueError, r"is a float: exact Hermite algebra"),
    BadInput("polynomial kernel without a degree", _polynomial_kernel_without_degree, ValueError,
             r"the polynomial kernel needs its degree"),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_bad_input_raises_an_error_that_names_the_problem(row: BadInput):
    with pytest.raises(row.error, match=row.message):
        row.attempt()


@dataclass(frozen=True)
class Violation:
    """Input outside the paper's assumptions that is allowed (probes use it) and named by
    ``violations()``: ``named`` must be listed, ``not_named`` must not be."""

    name: str
    build: Callable[[], object]
    named: tuple[str, ...]
    not_named: tuple[str, ...] = ()


def _feature(builder: str, *args, **kwargs):
    from theory.features import BlockFeature

    return getattr(BlockFeature, builder)(*args, **kwargs)


VIOLATIONS = [
    Violation("p not normalised", lambda: _feature("decomposable_on_coordinates", [2, 2, 2, 2], 3, d=4),
              (NORMALISED,)),
    # Overlapping blocks: Σ λ² = L, but E p² = 2 (cross terms), and the blocks are not disjoint.
    Violation("p with a repeated block", lambda: _feature("products", [[0, 1], [0, 1]], [1, 1], d=2),
              (NORMALISED, ORTHOGONAL)),
    # Balance is judged on the normalised λ: [3]*10 is balanced, only its scale is off.
    Violation("λ on another scale", lambda: _feature("decomposable_on_coordinates", [3] * 10, 3),
              (NORMALISED,), (BALANCED,)),
]


@pytest.mark.parametrize("row", VIOLATIONS, ids=[r.name for r in VIOLATIONS])
def test_assumption_violations_are_reported_by_name_not_silently_accepted(row: Violation):
    found = row.build().violations()
    assert set(row.named) <= set(found) and not set(row.not_named) & set(found), found


# --- the command line: usage errors before the run, and lines that say what is wrong ----------

CLAIM_CHECK = """
from checks.audit import claim_check
from checks.evidence import Verdict

@claim_check("stein.exact")
def test_planted(audit):
    audit.record(verdict=Verdict.SUPPORTED, rule="planted")
"""


@dataclass(frozen=True)
class CommandLine:
    name: str                                  # the row's name in README.md
    args: Callable[[Path], list[str]]          # pytest arguments, given a scratch directory
    env: dict[str, str]
    exit_code: int
    text: str                                  # regex the output (stdout + stderr) must match


def _not_writable(scratch: Path) -> str:
    """A directory path nobody can write: read-only by its mode, or (for root, whom modes do
    not bind) a path under a regular file."""
    if os.geteuid() == 0:
        (scratch / "a-file").write_text("")
        return str(scratch / "a-file" / "dir")
    locked = scratch / "read-only"
    locked.mkdir()
    locked.chmod(0o555)
    return str(locked / "dir")


USAGE = pytest.ExitCode.USAGE_ERROR
COMMAND_LINE = [
    CommandLine("unknown tier", lambda s: ["--tier", "medium"], {}, USAGE, r"invalid choice: 'medium'"),
    CommandLine("HIERPOLY_TIER unknown", lambda s: [], {"HIERPOLY_TIER": "medium"}, USAGE,
                r"ERROR: \$HIERPOLY_TIER: unknown tier 'medium': choose one of quick, full"),
    CommandLine("HIERPOLY_SEED not an integer", lambda s: [], {"HIERPOLY_SEED": "abc"}, USAGE,
                r"ERROR: \$HIERPOLY_SEED must be an integer, got 'abc'"),
    CommandLine("report directory that cannot be written", lambda s: ["--report-dir", _not_writable(s)], {}, USAGE,
                r"ERROR: the report directory .* cannot be written: .*choose another with --report-dir"),
    CommandLine("cache directory that cannot be written", lambda s: ["--cache-dir", _not_writable(s)], {}, USAGE,
                r"ERROR: the cache directory .* cannot be written: .*--cache-dir DIR or \$HIERPOLY_CACHE_DIR"),
    CommandLine("-k that selects no claim", lambda s: ["-k", "lemma9"], {}, pytest.ExitCode.NO_TESTS_COLLECTED,
                r"hierpoly: -k 'lemma9' selected no claim check \(1 deselected\)\. Test ids are claim ids"),
]


def _run_pytest(scratch: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    project = scratch / "project"
    project.mkdir()
    (project / "test_check.py").write_text(CLAIM_CHECK)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HIERPOLY_")} | env
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args], cwd=project,
                          capture_output=True, text=True, env=environment)


@pytest.mark.parametrize("row", COMMAND_LINE, ids=[r.name for r in COMMAND_LINE])
def test_bad_command_line_is_a_usage_error_or_a_clear_line(row: CommandLine, tmp_path: Path):
    result = _run_pytest(tmp_path, row.args(tmp_path), row.env)
    output = result.stdout + result.stderr
    assert result.returncode == row.exit_code, output
    assert re.search(row.text, output), output
    assert "INTERNALERROR" not in output and "Traceback" not in output


def test_k_that_selects_no_claim_is_hinted_under_xdist_too(tmp_path: Path):
    """Under xdist the workers deselect; the count reaches the controller through workeroutput."""
    result = _run_pytest(tmp_path, ["-n", "2", "-k", "lemma9"], {})
    assert "hierpoly: -k 'lemma9' selected no claim check (1 deselected)" in result.stdout, result.stdout


def test_full_tier_without_a_gpu_warns_in_the_summary(tmp_path: Path):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the full tier is its default, and no warning is due")
    result = _run_pytest(tmp_path, ["--tier", "full", "--report-dir", str(tmp_path / "report")], {})
    assert result.returncode == 0, result.stdout
    assert "the full tier is sized for one GPU and this run had none" in result.stdout


def test_corrupted_cache_file_is_recomputed_never_trusted(tmp_path: Path):
    from checks.sweep import Run, run_sweep

    runs = [Run(method="demo", d=2, n=4, seed=0)]
    run_sweep(lambda run: {"loss": 0.25}, runs, cache_dir=tmp_path, code_version="v", progress=False)
    (cached,) = (tmp_path / "sweep-runs").rglob("*.json")
    cached.write_text(cached.read_text().replace("0.25", "0.99"))  # tampered, checksum now wrong
    again = run_sweep(lambda run: {"loss": 0.25}, runs, cache_dir=tmp_path, code_version="v", progress=False)
    assert again.counts()["recomputed-corrupt"] == 1 and again.column("loss") == [0.25]


def test_readme_lists_every_bad_input_row():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Bad input"):]
    names = [r.name for r in ROWS + VIOLATIONS + COMMAND_LINE] + ["full tier without a GPU"]
    for name in names:
        assert re.search(rf"^\| {re.escape(name)} \|", section, re.M), f"README lacks the row {name!r}"


# Bad --executor values: each is tried in tests/test_executors.py (it needs the Dask machinery).
EXECUTOR_ROWS_TRIED_IN_TEST_EXECUTORS = {"unknown executor", "scheduler address without a port",
                                         "a bad port or worker count", "no scheduler at the address"}


def test_readme_rows_are_tried():
    """The converse: every row of the README table is one of the rows tried here."""
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Bad input"):]
    section = section[:section.find("\n## ", 1) if "\n## " in section[1:] else len(section)]
    tried = {r.name for r in ROWS + VIOLATIONS + COMMAND_LINE} | {"full tier without a GPU", "corrupted cache file"}
    tried |= EXECUTOR_ROWS_TRIED_IN_TEST_EXECUTORS
    listed = re.findall(r"^\| ([^|]+?) \|", section, re.M)
    assert set(listed) - {"bad input", "---"} <= tried

