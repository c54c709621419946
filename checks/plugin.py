"""The pytest plugin that turns a test run into a claim audit.

Loaded by the root ``conftest.py`` (or ``-p checks.plugin`` from anywhere). It adds the options
``--tier``, ``--seed``, ``--report-dir`` and ``--cache-dir``, the fixtures a check uses, the
per-test seeds, and at the end of the run the claim table and the report (merged across xdist
workers: evidence travels to the controller inside each test report's ``user_properties``).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from . import report as report_mod
from .audit import CLAIM_MARKER, AuditRecorder, parametrize_claim
from .evidence import Evidence
from .seeds import base_seed_from_env, derive_seed, numpy_generator, torch_generator
from .tiers import Tier, resolve_tier

EVIDENCE_PROPERTY = "hierpoly.evidence"
HYPOTHESIS_PROFILE_ENV = "HIERPOLY_HYPOTHESIS_PROFILE"

MARKERS = {
    CLAIM_MARKER: "hierpoly_claim(id, cases): a check of a registered claim (set by claim_check)",
    "claim": "checks a claim the paper asserts; a refutation fails the run",
    "probe": "probes outside the paper's assumptions",
    "conjecture": "an open question; reported, never fails the run",
    "training": "trains a network or a baseline (slower)",
    "slow": "takes more than a few seconds even in the quick tier",
    "gpu": "needs a CUDA device; skipped without one",
}


def _register_hypothesis_profiles() -> None:
    from hypothesis import HealthCheck, settings

    common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
    # ci: the audit's default; derandomised so a base seed fixes every verdict.
    settings.register_profile("ci", derandomize=True, database=None, print_blob=True, **common)
    settings.register_profile("dev", max_examples=50, **common)
    settings.register_profile("thorough", max_examples=1000, **common)


_register_hypothesis_profiles()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hierpoly", "hierpoly claim audit")
    group.addoption("--tier", choices=("quick", "full"), default=None,
                    help="size tier (default: full with a CUDA device, else quick; or $HIERPOLY_TIER)")
    group.addoption("--seed", type=int, default=None,
                    help="base seed for every per-test seed (default: $HIERPOLY_SEED or 20240101)")
    group.addoption("--report-dir", default="audit-report",
                    help="where audit.json, audit.md and the figures go (default: audit-report/)")
    group.addoption("--cache-dir", default=None,
                    help="on-disk cache of training runs (default: $HIERPOLY_CACHE_DIR or .hierpoly-cache/)")


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    state = _Session(config)
    config._hierpoly = state  # type: ignore[attr-defined]
    if not state.is_worker:
        config.pluginmanager.register(_Collector(state), "hierpoly-collector")
    from hypothesis import settings

    if not config.getoption("hypothesis_profile", None):
        settings.load_profile(os.environ.get(HYPOTHESIS_PROFILE_ENV, "ci"))
    if "PYTEST_XDIST_WORKER" in os.environ:
        _one_thread_per_worker()


def _one_thread_per_worker() -> None:
    # The env vars set in conftest.py cover libraries imported later; this covers those loaded.
    import torch
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    torch.set_num_threads(1)


class _Session:
    def __init__(self, config: pytest.Config):
        self.config = config
        self.tier = Tier(resolve_tier(config.getoption("tier")))
        self.base_seed = base_seed_from_env(config.getoption("seed"))
        self.report_dir = Path(config.getoption("report_dir"))
        self.cache_dir = Path(config.getoption("cache_dir") or os.environ.get("HIERPOLY_CACHE_DIR")
                              or ".hierpoly-cache")
        self.evidence: list[Evidence] = []
        self.durations: dict[str, float] = {}
        self.started = time.time()
        self.is_worker = hasattr(config, "workerinput")
        self.summary: dict | None = None

    @property
    def device(self) -> str:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"


def _session(config: pytest.Config) -> _Session:
    return config._hierpoly  # type: ignore[attr-defined]


def pytest_report_header(config: pytest.Config) -> list[str]:
    from hypothesis import settings

    s = _session(config)
    return [
        f"hierpoly: tier={s.tier.name} base-seed={s.base_seed} device={s.device} "
        f"hypothesis-profile={settings._current_profile} report-dir={s.report_dir}"
    ]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    parametrize_claim(metafunc)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


# ---- fixtures ---------------------------------------------------------------------------

@pytest.fixture
def hierpoly_claim_id(request: pytest.FixtureRequest) -> str | None:
    """The claim id of a claim check (parametrised by claim_check); None elsewhere."""
    return getattr(request, "param", None)


@pytest.fixture(scope="session")
def tier(request: pytest.FixtureRequest) -> Tier:
    return _session(request.config).tier


@pytest.fixture(scope="session")
def base_seed(request: pytest.FixtureRequest) -> int:
    return _session(request.config).base_seed


@pytest.fixture
def seed(request: pytest.FixtureRequest, base_seed: int) -> int:
    """This test's seed: a hash of (base seed, node id); the same under any xdist schedule."""
    value = derive_seed(base_seed, request.node.nodeid)
    request.node._hierpoly_seed = value
    return value


@pytest.fixture
def rng(seed: int):
    """A numpy Generator seeded with this test's seed."""
    return numpy_generator(seed)


@pytest.fixture
def torch_gen(seed: int, device):
    """A torch Generator on the test's device, seeded with this test's seed."""
    return torch_generator(seed, device=device.type)


@pytest.fixture(scope="session")
def device(request: pytest.FixtureRequest):
    """CUDA when available, else CPU. Theory code runs in float64 on the CPU regardless."""
    import torch

    return torch.device(_session(request.config).device)


@pytest.fixture(scope="session")
def cache_dir(request: pytest.FixtureRequest) -> Path:
    return _session(request.config).cache_dir


@pytest.fixture
def audit(request: pytest.FixtureRequest, seed: int, base_seed: int, hierpoly_claim_id) -> AuditRecorder:
    """The evidence recorder for this test (the claim check's claim by default)."""
    recorder = AuditRecorder(node_id=request.node.nodeid, seed=seed, base_seed=base_seed,
                             default_claim_id=hierpoly_claim_id)
    request.node._hierpoly_recorder = recorder
    return recorder


# ---- shipping evidence, failing refuted claims ------------------------------------------

@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    result = yield
    recorder: AuditRecorder | None = getattr(item, "_hierpoly_recorder", None)
    if recorder is not None and recorder.failing():
        pytest.fail(recorder.failure_message(), pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    report = yield
    recorder: AuditRecorder | None = getattr(item, "_hierpoly_recorder", None)
    if report.when == "call" and recorder is not None:
        for ev in recorder.records:
            report.user_properties.append((EVIDENCE_PROPERTY, ev.to_json()))
    if report.failed:
        seed = getattr(item, "_hierpoly_seed", None)
        s = _session(item.config)
        text = f"base seed {s.base_seed}, tier {s.tier.name}"
        if seed is not None:
            text += f", test seed {seed}"
        report.sections.append(("hierpoly seed", f"{text}; rerun: pytest '{item.nodeid}' --seed {s.base_seed}"))
    return report


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _session(session.config).started = time.time()


class _Collector:
    """Receives every test report on the controller (from xdist workers, or in-process)."""

    def __init__(self, state: _Session):
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        self.state.durations[report.nodeid] = report.duration
        for name, value in report.user_properties:
            if name == EVIDENCE_PROPERTY:
                self.state.evidence.append(Evidence.from_dict(json.loads(value)))


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus) -> None:
    state = _session(session.config)
    if state.is_worker:
        return
    state.summary = report_mod.build_report(
        evidence=state.evidence, durations=state.durations, tier=state.tier.name,
        base_seed=state.base_seed, device=state.device, started=state.started,
    )
    report_mod.write_report(state.summary, state.report_dir)
    if not state.summary["false_failure_budget"]["within_limit"] and session.exitstatus == 0:
        # Declared false-failure probabilities add up past the limit: a green run would not
        # mean what it says, so the run is not green.
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    state = _session(config)
    if state.is_worker or state.summary is None:
        return
    terminalreporter.write_sep("=", "hierpoly claim audit")
    for line in report_mod.claim_table_lines(state.summary):
        terminalreporter.write_line(line)
    terminalreporter.write_line(f"report: {state.report_dir / 'audit.json'}, {state.report_dir / 'audit.md'}")
