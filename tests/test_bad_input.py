"""Bad input, as a table: each row is tried, and each must raise an error that names the problem
(or, for the paper's assumptions, be reported by name), never yield a number silently.

The same rows are listed for users in README.md ("Bad input"); a test keeps the two in step.
"""
from __future__ import annotations

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
    BadInput("feature degree k < 1", lambda: _layerwise(k=0), ValueError, r"degree k must be an integer >= 1"),
    BadInput("unknown tier", _unknown_tier, ValueError, r"unknown tier 'medium': choose one of quick, full"),
    BadInput("misspelled claim id in a user conjecture", _misspelled_user_claim, KeyError,
             r"unknown claim id 'conjecture\.my-ideaa'.*did you mean 'conjecture\.my-idea'"),
]


@pytest.mark.parametrize("row", ROWS, ids=[r.name for r in ROWS])
def test_bad_input_raises_an_error_that_names_the_problem(row: BadInput):
    with pytest.raises(row.error, match=row.message):
        row.attempt()


def test_unnormalised_p_is_reported_by_name_not_silently_accepted():
    from checks.registry import NORMALISED
    from theory.features import BlockFeature

    assert NORMALISED in BlockFeature.decomposable_on_coordinates([2, 2, 2, 2], 3, d=4).violations()


def test_unknown_tier_on_the_command_line_is_a_usage_error(tmp_path: Path):
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "checks.plugin", "--tier", "medium"],
                            cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR
    assert "invalid choice: 'medium'" in result.stderr


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
    for row in ROWS:
        assert re.search(rf"^\| {re.escape(row.name)} \|", section, re.M), f"README lacks the row {row.name!r}"
