"""The house rules, read from the source with ``ast`` (no import is executed):

- layers run one way, theory ← model ← checks: ``theory/`` imports nothing from ``checks`` or
  ``model``, and ``model/`` imports nothing from ``checks``;
- every ``checks/check_*.py`` is a leaf: no check module imports another check module (shared
  pieces live in ``checks/rules.py``, ``checks/specs.py``, ``checks/runs.py`` and the like);
- no module imports a ``_private`` name from another module (benchmarks and examples included).

Relative imports are resolved against the importing module's package, so ``from .x import y``
and ``from checks.x import y`` read the same.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("theory", "model", "checks")
SOURCE_DIRS = PACKAGES + ("benchmarks", "examples")


def _modules(directory: str) -> list[Path]:
    return sorted((ROOT / directory).glob("*.py"))


def _module_name(path: Path) -> str:
    relative = path.relative_to(ROOT).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[tuple[str, str | None, int]]:
    """(imported module, imported name or None, line) for every import in the file, at any depth
    (imports inside functions count too); relative imports resolved to absolute module names."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path).rsplit(".", 1)[0] if path.name != "__init__.py" else _module_name(path)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found += [(module, alias.name, node.lineno) for alias in node.names]
    return found


def _top(module: str) -> str:
    return module.split(".", 1)[0]


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT)}:{line}"


def _is_check_module(module: str) -> bool:
    return module.startswith("checks.check_")


@pytest.mark.parametrize("layer, forbidden", [("theory", ("checks", "model")), ("model", ("checks",))])
def test_layers_run_one_way(layer, forbidden):
    wrong = [f"{_where(path, line)} imports {module}"
             for path in _modules(layer) for module, _, line in imports(path) if _top(module) in forbidden]
    assert not wrong, f"{layer}/ must not import from {' or '.join(forbidden)}:\n" + "\n".join(wrong)


def test_check_modules_are_leaves():
    wrong = []
    for path in _modules("checks"):
        if not path.name.startswith("check_"):
            continue
        for module, name, line in imports(path):
            target = f"{module}.{name}" if module == "checks" and name else module
            if _is_check_module(target):
                wrong.append(f"{_where(path, line)} imports {target}")
    assert not wrong, "a check module imports another (move the shared piece to checks/rules.py, specs.py or runs.py):\n" \
        + "\n".join(wrong)


def test_no_private_names_across_modules():
    wrong = []
    for directory in SOURCE_DIRS:
        for path in _modules(directory):
            own = _module_name(path)
            for module, name, line in imports(path):
                private_module = any(part.startswith("_") and not part.startswith("__") for part in module.split("."))
                private_name = name is not None and name.startswith("_") and not name.startswith("__")
                if (private_name or private_module) and module != own and module != "__future__":
                    wrong.append(f"{_where(path, line)} imports {module}.{name or ''}")
    assert not wrong, "private names imported across modules (make them public API or restructure):\n" + "\n".join(wrong)


# ---- the reader itself: it must be able to see a violation -----------------------------------------

def test_the_reader_resolves_relative_imports(tmp_path, monkeypatch):
    package = tmp_path / "theory"
    package.mkdir()
    source = package / "demo.py"
    source.write_text("from .expansion import _secret\nfrom ..checks.registry import GAUSSIAN\n"
                      "def f():\n    import checks.check_theorem1\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    found = imports(source)
    assert ("theory.expansion", "_secret", 1) in found
    assert ("checks.registry", "GAUSSIAN", 2) in found
    assert ("checks.check_theorem1", None, 4) in found
