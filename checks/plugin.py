"""The pytest plugin that turns a test run into a claim audit.

Installed as a pytest plugin (the ``pytest11`` entry point ``checks.plugin`` in pyproject.toml),
so it loads in every pytest run where hierpoly is installed, in the repository or a user's own
directory; ``-p no:checks.plugin`` switches it off. It adds the options ``--tier``, ``--seed``,
``--report-dir`` and ``--cache-dir``, the fixtures a check uses, the per-test seeds, and at the end
of a run that ran claim checks the claim table and the report (merged across xdist workers:
evidence travels to the controller inside each test report's ``user_properties``). A run that
runs no claim check (another project's tests) prints no table and writes nothing.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pytest

from . import report as report_mod
from .audit import CLAIM_MARKER, AuditRecorder, parametrize_claim
from .evidence import Evidence
from .registry import get_claim
from .seeds import base_seed_from_env, derive_seed, numpy_generator, torch_generator
from .tiers import Tier, resolve_tier

EVIDENCE_PROPERTY = "hierpoly.evidence"
# Sent with the setup report of every claim check that was selected: the controller learns which
# claims this run covers (and the metadata of a user's claim, which only a worker registered).
CLAIM_PROPERTY = "hierpoly.claim"
DEFAULT_REPORT_DIR = "audit-report"
DEFAULT_CACHE_DIR = ".hierpoly-cache"
CACHE_DIR_ENV = "HIERPOLY_CACHE_DIR"
HYPOTHESIS_PROFILE_ENV = "HIERPOLY_HYPOTHESIS_PROFILE"

MARKERS = {
    CLAIM_MARKER: "hierpoly_claim(id, cases): a check of a registered claim (set by claim_check)",
    "claim": "checks a claim the paper asserts; a refutation fails the run",
    "probe": "probes outside the paper's assumptions",
    "conjecture": "an open question; reported, never fails the run",
    "report": "a measurement with no reachable REFUTED branch; shown as a report, never fails the run",
    "training": "trains a network or a baseline (slower)",
    "slow": "takes more than a few seconds even in the quick tier",
    "gpu": "needs a CUDA device; skipped without one",
}


def _register_hypothesis_profiles() -> None:
    from hypothesis import HealthCheck, settings

    common = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])
    # ci: the audit's default. Not derandomised (derandomize=True ignores every seed): each @given
    # test, and each property of an exact check (checks/properties.py), is seeded from its per-test
    # seed, so one --seed reproduces every draw and a fresh base seed explores new instances.
    settings.register_profile("ci", derandomize=False, database=None, print_blob=True, **common)
    settings.register_profile("dev", max_examples=50, **common)
    settings.register_profile("thorough", max_examples=1000, **common)


_register_hypothesis_profiles()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hierpoly", "hierpoly claim audit")
    group.addoption("--tier", choices=("quick", "full"), default=None,
                    help="size tier (default: full with a CUDA device, else quick; or $HIERPOLY_TIER)")
    group.addoption("--seed", type=int, default=None,
                    help="base seed for every per-test seed (default: $HIERPOLY_SEED or 20240101)")
    group.addoption("--report-dir", default=None,
                    help=f"where audit.json, audit.md and the figures go (default: {DEFAULT_REPORT_DIR}/)")
    group.addoption("--cache-dir", default=None,
                    help=f"on-disk cache of training runs (default: ${CACHE_DIR_ENV} or {DEFAULT_CACHE_DIR}/)")
    from .executors import add_executor_option
    add_executor_option(parser)


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    state = _Session(config)
    config._hierpoly = state  # type: ignore[attr-defined]
    from .executors import configure_pytest as configure_executor
    configure_executor(config)  # --executor: where sweeps run; closed at unconfigure
    if not state.is_worker:
        state.check_named_directories()
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


def unwritable_reason(directory: Path) -> str | None:
    """Why files cannot be written into ``directory`` (created if missing), or None if they can.

    Tried for real (create the folder, write and delete a probe file), because permission bits
    do not bind root and a read-only mount shows none.
    """
    if directory.exists() and not directory.is_dir():
        return f"{directory} exists and is not a directory"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".hierpoly-write-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        return f"{exc.strerror or exc} ({exc.filename or directory})"
    return None


class _Session:
    def __init__(self, config: pytest.Config):
        self.config = config
        # Bad environment variables are usage errors, like bad options, not INTERNALERROR.
        try:
            self.tier = Tier(resolve_tier(config.getoption("tier")))
            self.base_seed = base_seed_from_env(config.getoption("seed"))
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None  # $HIERPOLY_SEED / $HIERPOLY_TIER name themselves
        self.report_dir_named = config.getoption("report_dir") is not None
        self.report_dir = Path(config.getoption("report_dir") or DEFAULT_REPORT_DIR)
        named_cache = config.getoption("cache_dir") or os.environ.get(CACHE_DIR_ENV)
        self.cache_dir_named = bool(named_cache)
        self.cache_dir = Path(named_cache or DEFAULT_CACHE_DIR)
        self.evidence: list[Evidence] = []
        self.durations: dict[str, float] = {}
        self.claims_run: dict[str, dict] = {}  # claim id -> claim metadata, for selected claim checks
        self.deselected_claim_checks = 0
        self.report_dir_checked = False
        self.started = time.time()
        self.is_worker = hasattr(config, "workerinput")
        self.summary: dict | None = None
        self.report_error: str | None = None

    def check_named_directories(self) -> None:
        """A report or cache directory the user named must be writable before the run starts
        (otherwise the report, or every cached run, is lost at the end of a long run)."""
        if self.report_dir_named:
            self.check_report_dir()
        if self.cache_dir_named:
            self.check_cache_dir(pytest.UsageError)

    def check_report_dir(self) -> None:
        self.report_dir_checked = True
        reason = unwritable_reason(self.report_dir)
        if reason is not None:
            raise pytest.UsageError(f"the report directory {self.report_dir} cannot be written: {reason}; "
                                    f"choose another with --report-dir DIR")

    def check_cache_dir(self, error: type[Exception]) -> None:
        reason = unwritable_reason(self.cache_dir)
        if reason is not None:
            raise error(f"the cache directory {self.cache_dir} cannot be written: {reason}; choose "
                        f"another with --cache-dir DIR or ${CACHE_DIR_ENV}")

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


def _claim_id(item: pytest.Item) -> str | None:
    marker = item.get_closest_marker(CLAIM_MARKER)
    return None if marker is None else marker.args[0]


def pytest_deselected(items: list[pytest.Item]) -> None:
    if items:
        state = _session(items[0].config)
        state.deselected_claim_checks += sum(_claim_id(item) is not None for item in items)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    state = _session(config)
    if not state.is_worker and not state.report_dir_checked and any(_claim_id(i) for i in items):
        # The default report directory is checked only once claim checks are collected: another
        # project's run (the plugin is installed everywhere) must not depend on it.
        state.check_report_dir()
    if not any("gpu" in item.keywords for item in items):
        return
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


class CacheDirError(OSError):
    """The cache directory cannot be written."""


@pytest.fixture(scope="session")
def cache_dir(request: pytest.FixtureRequest) -> Path:
    """The on-disk cache of training runs, checked writable (a named one was checked at start)."""
    state = _session(request.config)
    state.check_cache_dir(CacheDirError)
    return state.cache_dir


@pytest.fixture
def audit(request: pytest.FixtureRequest, seed: int, base_seed: int, hierpoly_claim_id) -> AuditRecorder:
    """The evidence recorder for this test (the claim check's claim by default)."""
    recorder = AuditRecorder(node_id=request.node.nodeid, seed=seed, base_seed=base_seed,
                             default_claim_id=hierpoly_claim_id)
    request.node._hierpoly_recorder = recorder
    return recorder


# ---- shipping evidence, failing refuted claims ------------------------------------------

def seed_hypothesis_test(item: pytest.Item, base_seed: int) -> None:
    """Seed a collected @given test from its per-test seed (the ``seed`` fixture's hash of base seed
    and node id), unless the test pins its own with ``@hypothesis.seed``."""
    import hypothesis

    function = getattr(item, "function", None)
    if not getattr(function, "is_hypothesis_test", False):
        return
    pinned = getattr(function, "_hypothesis_internal_use_seed", None) is not None
    if pinned and not getattr(function, "_hierpoly_seeded", False):
        return
    hypothesis.seed(derive_seed(base_seed, item.nodeid))(function)
    function._hierpoly_seeded = True  # parametrised cases share the function: reseed per case


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    seed_hypothesis_test(item, _session(item.config).base_seed)
    result = yield
    recorder: AuditRecorder | None = getattr(item, "_hierpoly_recorder", None)
    claim_id = _claim_id(item)
    if claim_id is not None and (recorder is None or not recorder.records):
        # A check that records nothing would leave its claim MISSING under a green test.
        pytest.fail(f"{claim_id}: the check {item.name} recorded no evidence (a claim check must call "
                    f"audit.record(...) at least once)", pytrace=False)
    if recorder is not None and recorder.failing():
        pytest.fail(recorder.failure_message(), pytrace=False)
    return result


def rerun_command(item: pytest.Item, base_seed: int, tier: str) -> str:
    """The command that reruns ``item``, written for the directory pytest was started from."""
    path, sep, rest = item.nodeid.partition("::")
    invocation_dir = item.config.invocation_params.dir
    target = os.path.relpath(item.config.rootpath / path, invocation_dir) + sep + rest
    return f"pytest '{target}' --seed {base_seed} --tier {tier}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call):
    report = yield
    recorder: AuditRecorder | None = getattr(item, "_hierpoly_recorder", None)
    claim_id = _claim_id(item)
    if report.when == "setup" and claim_id is not None:
        report.user_properties.append((CLAIM_PROPERTY, json.dumps(get_claim(claim_id).as_dict())))
    if report.when == "call" and recorder is not None:
        for ev in recorder.records:
            report.user_properties.append((EVIDENCE_PROPERTY, ev.to_json()))
    if report.failed:
        seed = getattr(item, "_hierpoly_seed", None)
        s = _session(item.config)
        text = f"base seed {s.base_seed}, tier {s.tier.name}"
        if seed is not None:
            text += f", test seed {seed}"
        report.sections.append(("hierpoly seed", f"{text}; rerun: {rerun_command(item, s.base_seed, s.tier.name)}"))
    return report


@pytest.hookimpl(trylast=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _session(session.config).started = time.time()


class _Collector:
    """Receives every test report on the controller (from xdist workers, or in-process)."""

    def __init__(self, state: _Session):
        self.state = state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for name, value in report.user_properties:
            if name == CLAIM_PROPERTY and report.when == "setup":
                claim = json.loads(value)
                self.state.claims_run.setdefault(claim["id"], claim)
        if report.when != "call":
            return
        self.state.durations[report.nodeid] = report.duration
        for name, value in report.user_properties:
            if name == EVIDENCE_PROPERTY:
                self.state.evidence.append(Evidence.from_dict(json.loads(value)))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """xdist controller: workers collect (and deselect) the items, so the count behind the -k hint
    comes back from them (each worker collects everything: take the largest count)."""
    state = _session(node.config)
    count = getattr(node, "workeroutput", {}).get("hierpoly_deselected_claim_checks", 0)
    state.deselected_claim_checks = max(state.deselected_claim_checks, count)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus) -> None:
    state = _session(session.config)
    if state.is_worker:
        session.config.workeroutput["hierpoly_deselected_claim_checks"] = state.deselected_claim_checks
    if state.is_worker or not (state.claims_run or state.evidence):
        return  # inert: this run ran no claim check
    state.summary = report_mod.build_report(
        evidence=state.evidence, durations=state.durations, tier=state.tier.name,
        base_seed=state.base_seed, device=state.device, started=state.started,
        claims_run=state.claims_run,
    )
    try:
        report_mod.write_report(state.summary, state.report_dir)
    except OSError as exc:
        # Checked before the run; if the directory went away since, the table still prints.
        state.report_error = f"the report could not be written to {state.report_dir}: {exc}"
        if session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if not state.summary["false_failure_budget"]["within_limit"] and session.exitstatus == 0:
        # Declared false-failure probabilities add up past the limit: a green run would not
        # mean what it says, so the run is not green.
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    state = _session(config)
    if state.is_worker:
        return
    if state.summary is None:
        if state.deselected_claim_checks and config.getoption("keyword"):
            terminalreporter.write_line(
                f"hierpoly: -k {config.getoption('keyword')!r} selected no claim check "
                f"({state.deselected_claim_checks} deselected). Test ids are claim ids, e.g. "
                f"-k lemma2.degree-k; `pytest --collect-only -q` lists them.", yellow=True)
        return
    terminalreporter.write_sep("=", "hierpoly claim audit")
    for line in report_mod.claim_table_lines(state.summary):
        terminalreporter.write_line(line)
    if state.tier.name == "full" and state.device == "cpu":
        terminalreporter.write_line(
            "hierpoly: WARNING: the full tier is sized for one GPU and this run had none; its sweeps "
            "may take many hours on CPUs (--tier quick runs every claim at small sizes).", yellow=True)
    if state.report_error is not None:
        terminalreporter.write_line(f"hierpoly: ERROR: {state.report_error}", red=True)
    else:
        terminalreporter.write_line(f"report: {state.report_dir / 'audit.json'}, {state.report_dir / 'audit.md'}")
