"""The audit report: the claim table, ``audit.json``, ``audit.md`` and the figures.

Everything here works from plain data (evidence records as dicts), so the controller can build
the report from what the xdist workers sent without importing any check module.
"""
from __future__ import annotations

import json
import os
import platform
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Sequence

from .evidence import Evidence, Verdict, combine, to_jsonable
from .registry import REGISTRY

__all__ = ["SCHEMA", "figure", "series", "build_report", "write_report", "claim_table_lines", "claims_not_run_line"]

SCHEMA = "hierpoly-audit/1"
# The most a run may spend on false failures: the sum of the declared false-failure
# probabilities of every gating statistical record (a union bound on a false red run).
FALSE_FAILURE_LIMIT = 0.01
_VERSIONED = ("hierpoly", "numpy", "scipy", "sympy", "torch", "hypothesis", "pytest", "pytest-xdist", "matplotlib")
_SEVERITY = {Verdict.REFUTED: 0, Verdict.INCONCLUSIVE: 1, Verdict.SUPPORTED: 2}


def series(label: str, x: Sequence[float], y: Sequence[float], *, low: Sequence[float] | None = None,
           high: Sequence[float] | None = None, style: str = "line") -> dict[str, Any]:
    """One curve of a figure; ``low``/``high`` draw a band; style is line, points or guide."""
    if style not in ("line", "points", "guide"):
        raise ValueError(f"unknown series style {style!r}")
    n = len(x)
    for name, values in (("y", y), ("low", low), ("high", high)):
        if values is not None and len(values) != n:
            raise ValueError(f"series {label!r}: {name} has {len(values)} points, x has {n}")
    out = {"label": label, "x": to_jsonable(list(x)), "y": to_jsonable(list(y)), "style": style}
    if low is not None and high is not None:
        out["low"], out["high"] = to_jsonable(list(low)), to_jsonable(list(high))
    return out


def figure(name: str, *, title: str, xlabel: str, ylabel: str, series_list: Iterable[dict[str, Any]],
           xscale: str = "linear", yscale: str = "linear") -> dict[str, Any]:
    """A figure spec for ``audit.record(figures=[...])``; drawn into the report as PNG."""
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
    return {"name": safe, "title": title, "xlabel": xlabel, "ylabel": ylabel,
            "xscale": xscale, "yscale": yscale, "series": list(series_list)}


def _source_commit() -> str | None:
    """The git commit the audited code is at (``-dirty`` with uncommitted changes to tracked files), or
    None outside a git checkout: a kept report names the code that produced it."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("-dirty" if dirty else "")


def _device_name(device: str) -> str:
    """The accelerator's own name for a CUDA device (e.g. "NVIDIA H200"), else the device string."""
    if not str(device).startswith("cuda"):
        return str(device)
    try:
        import torch

        return torch.cuda.get_device_name(torch.device(device))
    except Exception:  # a report must still be written if the driver cannot be asked
        return str(device)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for dist in _VERSIONED:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _key_figure(records: list[Evidence]) -> str:
    ordered = sorted(records, key=lambda ev: _SEVERITY[ev.verdict])
    figures = [ev.key_figure for ev in ordered if ev.key_figure]
    if not figures:
        return ""
    extra = f" (+{len(records) - 1} more)" if len(records) > 1 else ""
    return figures[0] + extra


def build_report(*, evidence: list[Evidence], durations: dict[str, float], tier: str, base_seed: int,
                 device: str, started: float, claims_run: dict[str, dict[str, Any]] | None = None
                 ) -> dict[str, Any]:
    """The report as a JSON-ready dict; every registered claim appears (MISSING if unchecked).

    ``claims_run``: claim id -> metadata of the claims whose checks were selected in this run;
    each claim's ``run`` flag says whether it was (claims with evidence always were). The table
    shows those claims first and summarises the others in one line.
    """
    claims_run = dict(claims_run or {})
    by_claim: dict[str, list[Evidence]] = {}
    for ev in sorted(evidence, key=lambda e: (e.claim_id, e.check)):  # order-independent
        by_claim.setdefault(ev.claim_id, []).append(ev)
    meta = {cid: claim.as_dict() for cid, claim in REGISTRY.items()}
    for cid, records in by_claim.items():
        meta.setdefault(cid, records[0].claim)
    for cid, info in claims_run.items():
        meta.setdefault(cid, info)  # a user's claim whose check recorded nothing (it failed)
    claims = []
    for cid, info in meta.items():
        records = by_claim.get(cid, [])
        checks = sorted({ev.check for ev in records})
        claims.append({
            **info,
            "run": cid in claims_run or bool(records),
            "verdict": combine(ev.verdict for ev in records).value,
            "key_figure": _key_figure(records),
            "checks": checks,
            "duration_s": round(sum(durations.get(c, 0.0) for c in checks), 3),
            "evidence": [ev.to_dict() for ev in records],
        })
    counts: dict[str, int] = {}
    budget = _false_failure_budget(evidence)
    for c in claims:
        counts[c["verdict"]] = counts.get(c["verdict"], 0) + 1
    finished = time.time()
    return {
        "schema": SCHEMA,
        "run": {
            "tier": tier,
            "base_seed": base_seed,
            "device": device,
            "device_name": _device_name(device),
            "commit": _source_commit(),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
            "duration_s": round(finished - started, 2),
            "versions": _versions(),
            "platform": platform.platform(),
        },
        "counts": counts,
        "false_failure_budget": budget,
        "claims": claims,
    }


def _false_failure_budget(evidence: list[Evidence]) -> dict[str, Any]:
    """Sum of the declared false-failure probabilities of the records that can fail the run."""
    gating = {}
    for ev in evidence:
        can_fail = ev.claim.get("kind") == "claim" or ev.predicts_break
        if can_fail and ev.false_failure_budget:
            gating[ev.check] = gating.get(ev.check, 0.0) + ev.false_failure_budget
    total = sum(gating.values())
    return {"total": total, "limit": FALSE_FAILURE_LIMIT, "within_limit": total <= FALSE_FAILURE_LIMIT,
            "per_check": dict(sorted(gating.items()))}


def claims_not_run_line(summary: dict[str, Any]) -> str | None:
    """One line for the registered claims whose checks this run did not select, or None."""
    not_run = [c["id"] for c in summary["claims"] if not c.get("run", True)]
    if not not_run:
        return None
    shown = ", ".join(not_run[:3]) + (", ..." if len(not_run) > 3 else "")
    return (f"{len(not_run)} registered claims not run here (MISSING: {shown}); audit.json lists them, "
            f"and `pytest -n auto` in the hierpoly repository runs them all")


def claim_table_lines(summary: dict[str, Any], *, width: int = 60) -> list[str]:
    """The terminal claim table: id, kind, verdict, key figure, source, one row per claim this
    run checked; the claims it did not select are summarised in one line below."""
    rows = [("claim", "kind", "verdict", "key figure", "source")]
    for c in _claims_run(summary):
        fig = c["key_figure"] if len(c["key_figure"]) <= width else c["key_figure"][: width - 1] + "…"
        rows.append((c["id"], c["kind"], c["verdict"], fig, c["source"]))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r[:4], widths)) + "  " + r[4] for r in rows]
    lines.insert(1, "-" * min(len(lines[0]) + 20, 160))
    if (not_run := claims_not_run_line(summary)) is not None:
        lines.append(not_run)
    counts = ", ".join(f"{n} {v}" for v, n in sorted(summary["counts"].items()))
    lines.append(f"tier {summary['run']['tier']}, base seed {summary['run']['base_seed']}: {counts}")
    budget = summary["false_failure_budget"]
    lines.append(f"false-failure budget of the gating statistical checks: {budget['total']:.4g} "
                 f"(limit {budget['limit']:g}{'' if budget['within_limit'] else ', EXCEEDED: the run fails'})")
    return lines


def _claims_run(summary: dict[str, Any]) -> list[dict[str, Any]]:
    # Reports written before the "run" flag existed show every claim.
    return [c for c in summary["claims"] if c.get("run", True)]


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def _log_ticks(ax) -> None:
    """Log axes read as numbers: decades as 10², 10³; an axis spanning less than a decade gets plain
    numbers at 1, 2, 5 × 10^j instead of matplotlib's "6×10⁰" minor labels."""
    import math

    from matplotlib.ticker import FuncFormatter, LogFormatterSciNotation, LogLocator, NullFormatter

    for axis, limits in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        if axis.get_scale() != "log":
            continue
        low, high = sorted(limits)
        if low <= 0:
            continue
        if math.floor(math.log10(high)) - math.ceil(math.log10(low)) >= 1:  # two decades or more
            axis.set_major_locator(LogLocator(base=10))
            axis.set_major_formatter(LogFormatterSciNotation(base=10))
            axis.set_minor_formatter(NullFormatter())
        else:
            axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            axis.set_minor_formatter(NullFormatter())


def _draw(spec: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.2))
    for s in spec["series"]:
        x = [float(v) for v in s["x"]]
        y = [float(v) for v in s["y"]]
        if s["style"] == "guide":
            (line,) = ax.plot(x, y, linestyle="--", color="grey", label=s["label"])
        elif s["style"] == "points":
            (line,) = ax.plot(x, y, marker="o", linestyle="none", label=s["label"])
        else:
            (line,) = ax.plot(x, y, marker=".", label=s["label"])
        if "low" in s:  # the band in its curve's colour
            ax.fill_between(x, [float(v) for v in s["low"]], [float(v) for v in s["high"]], alpha=0.2,
                            color=line.get_color())
    ax.set_xscale(spec["xscale"])
    ax.set_yscale(spec["yscale"])
    _log_ticks(ax)
    ax.set_xlabel(spec["xlabel"])
    ax.set_ylabel(spec["ylabel"])
    ax.set_title(spec["title"], fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    if any(s["label"] for s in spec["series"]):
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


def _markdown(summary: dict[str, Any], figure_paths: dict[int, list[str]]) -> str:
    run = summary["run"]
    out = [
        "# hierpoly claim audit",
        "",
        f"Tier `{run['tier']}`, base seed `{run['base_seed']}`, device `{run['device']}` "
        f"({run.get('device_name', run['device'])}), commit `{run.get('commit')}`, "
        f"started {run['started']}, {run['duration_s']} s.",
        "",
        "| claim | kind | verdict | key figure | source |",
        "|---|---|---|---|---|",
    ]
    for c in _claims_run(summary):
        fig = c["key_figure"].replace("|", "\\|")
        out.append(f"| `{c['id']}` | {c['kind']} | **{c['verdict']}** | {fig} | {c['source']} |")
    if any(c["kind"] == "report" for c in _claims_run(summary)):
        out += ["", "Kind `report`: a measurement whose rule cannot refute; its verdict is shown, never gates the run."]
    if (not_run := claims_not_run_line(summary)) is not None:
        out += ["", not_run + "."]
    budget = summary["false_failure_budget"]
    out += ["", f"False-failure budget of the gating statistical checks: {budget['total']:.4g} "
            f"(limit {budget['limit']:g}).", "",
            "Versions: " + ", ".join(f"{k} {v}" for k, v in run["versions"].items()), ""]
    for i, c in enumerate(summary["claims"]):
        if not c.get("run", True):
            continue
        out += [f"## `{c['id']}`: {c['verdict']}", "", f"*{c['kind']}, {c['source']}.* {c['statement']}", ""]
        if c["assumptions"]:
            out += ["Assumptions: " + ", ".join(f"`{a}`" for a in c["assumptions"]), ""]
        if not c["evidence"]:
            out += ["No check ran for this claim in this run.", ""]
        for ev in c["evidence"]:
            out.append(f"- **{ev['verdict']}** `{ev['check']}`: {ev['key_figure']}")
            out.append(f"  - rule: {ev['rule']}")
            if ev.get("tolerance"):
                out.append(f"  - tolerance: {ev['tolerance']['value']:g} ({ev['tolerance']['reason']})")
            if ev.get("interval"):
                iv = ev["interval"]
                conf = f"{100 * iv['confidence']:g}% " if iv.get("confidence") is not None else "exact "
                out.append(f"  - interval: {conf}[{iv['low']:.4g}, {iv['high']:.4g}] {iv.get('method', '')}")
            if ev.get("false_failure_budget") is not None:
                out.append(f"  - false-failure budget: {ev['false_failure_budget']:g}")
            if ev.get("operating"):
                op = ev["operating"]
                out.append(f"  - false_failure {op['false_failure']:.3g}, power {op['power']:.3g} "
                           f"against {op['alternative']} (simulated at the configuration run)"
                           + (" — **underpowered here**" if op.get("underpowered") else ""))
            if ev.get("unit"):
                out.append(f"  - independent unit: {ev['unit']}")
            if ev.get("parameters"):
                out.append(f"  - parameters: `{json.dumps(ev['parameters'], sort_keys=True)}`")
            out.append(f"  - seed: {ev['seed']}")
            if ev.get("notes"):
                out.append(f"  - notes: {ev['notes']}")
        for rel in figure_paths.get(i, []):
            out += ["", f"![{rel}]({rel})"]
        out.append("")
    return "\n".join(out)


def write_report(summary: dict[str, Any], report_dir: Path) -> None:
    """Write audit.json, audit.md and figures/*.png atomically under ``report_dir``."""
    report_dir = Path(report_dir)
    figure_paths: dict[int, list[str]] = {}
    for i, c in enumerate(summary["claims"]):
        for j, ev in enumerate(c["evidence"]):
            for spec in ev.get("figures", []):
                rel = f"figures/{c['id']}--{j}--{spec['name']}.png"
                _draw(spec, report_dir / rel)
                figure_paths.setdefault(i, []).append(rel)
    _atomic_write(report_dir / "audit.json", json.dumps(summary, indent=1, sort_keys=False) + "\n")
    _atomic_write(report_dir / "audit.md", _markdown(summary, figure_paths))
