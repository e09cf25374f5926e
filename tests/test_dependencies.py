"""pyproject.toml declares what the code imports, pins each major, and constraints.txt locks it.

Imports are read from the source (AST, module level and inside functions), mapped to the installed
distributions that provide them, and compared with pyproject.toml: the app, worker, benchmarks and
migrations may only import runtime ``dependencies``; the tests runtime or ``dev`` ones. No network.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUNTIME_CODE = ("pingyi", "worker", "bench", "migrations", "wsgi.py")
FIRST_PARTY = {"pingyi", "worker", "bench", "tests"}
CONSTRAINTS = ROOT / "constraints.txt"

# Runtime dependencies no module imports by name; each needs a reason to stay.
NOT_IMPORTED = {
    "rl-accel": "reportlab's C accelerator (_rl_accel), loaded by reportlab when installed",
}


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _split(requirement: str) -> tuple[str, str]:
    """``"psycopg[binary]>=3.3,<4"`` → ``("psycopg", ">=3.3,<4")``."""
    m = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([^;]*?)\s*(?:;.*)?", requirement)
    assert m, f"cannot read requirement {requirement!r}"
    return _canon(m[1]), m[2].replace(" ", "")


@cache
def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _declared(group: str) -> dict[str, str]:
    project = _pyproject()["project"]
    reqs = project["dependencies"] if group == "runtime" else project["optional-dependencies"][group]
    return dict(_split(r) for r in reqs)


def _files(paths: tuple[str, ...]) -> list[Path]:
    out = []
    for p in paths:
        path = ROOT / p
        out.extend(sorted(path.rglob("*.py")) if path.is_dir() else [path])
    return out


@cache
def _dists() -> dict[str, list[str]]:
    return packages_distributions()


@cache
def _imports(paths: tuple[str, ...]) -> dict[str, set[str]]:
    """Top-level third-party module name → files importing it (``import``, ``from … import``, and
    ``importlib.import_module`` / ``pytest.importorskip`` with a literal name)."""
    found: dict[str, set[str]] = {}
    for path in _files(paths):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module] if node.level == 0 and node.module else []
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and node.func.attr in ("import_module", "importorskip")
                  and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                names = [node.args[0].value]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in FIRST_PARTY and top != "__future__":
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def _undeclared(paths: tuple[str, ...], allowed: set[str]) -> list[str]:
    dists = _dists()
    problems = []
    for module, where in sorted(_imports(paths).items()):
        providers = {_canon(d) for d in dists.get(module, [])}
        if not providers:
            problems.append(f"{module} (imported by {', '.join(sorted(where))}) is not installed")
        elif not providers & allowed:
            problems.append(f"{module} (imported by {', '.join(sorted(where))}) comes from "
                            f"{'/'.join(sorted(providers))}, which is not declared")
    return problems


def test_runtime_code_imports_only_runtime_dependencies():
    assert _undeclared(RUNTIME_CODE, set(_declared("runtime"))) == []


def test_tests_import_only_declared_dependencies():
    assert _undeclared(("tests",), set(_declared("runtime")) | set(_declared("dev"))) == []


def test_every_runtime_dependency_is_imported_or_explained():
    dists = _dists()
    imported = {_canon(d) for module in _imports(RUNTIME_CODE) for d in dists.get(module, [])}
    unused = set(_declared("runtime")) - imported - set(NOT_IMPORTED)
    assert unused == set(), "declared but never imported: drop them or explain them in NOT_IMPORTED"
    assert set(NOT_IMPORTED) <= set(_declared("runtime")), "NOT_IMPORTED names an undeclared package"
    assert not set(NOT_IMPORTED) & imported, "NOT_IMPORTED names a package that is imported after all"


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.match(r"\d+(?:\.\d+)*", version)[0].split("."))


@pytest.mark.parametrize("group", ["runtime", "dev"])
def test_every_dependency_pins_its_major(group):
    """``>=X.Y,<X+1`` — for 0.x the minor: ``>=0.Y,<0.Y+1``."""
    bad = []
    for name, spec in _declared(group).items():
        m = re.fullmatch(r">=([\d.]+),<([\d.]+)", spec)
        if not m:
            bad.append(f"{name}{spec}")
            continue
        low, high = _release(m[1]), _release(m[2])
        expected = (low[0] + 1,) if low[0] else (0, low[1] + 1)
        if high != expected:
            bad.append(f"{name}{spec}")
    assert bad == [], "pin as >=X.Y,<X+1 (0.x: >=0.Y,<0.Y+1)"


def _locked() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep and version and not re.search(r"[<>=!~;\s]", version), \
                f"constraints.txt must pin exact versions: {line!r}"
            pins[_canon(name)] = version
    return pins


def test_constraints_pin_every_declared_dependency_within_its_range():
    """Regenerate with ``make lock`` when this fails after a change to pyproject.toml."""
    pins = _locked()
    build = {_split(r)[0] for r in _pyproject()["build-system"]["requires"]} | {"pip"}
    assert build - set(pins) == set(), "the build backend and pip must be locked too"
    problems = []
    for group in ("runtime", "dev"):
        for name, spec in _declared(group).items():
            if name not in pins:
                problems.append(f"{name} is not in constraints.txt")
                continue
            m = re.fullmatch(r">=([\d.]+),<([\d.]+)", spec)
            if m and not _release(m[1]) <= _release(pins[name]) < _release(m[2]):
                problems.append(f"{name}=={pins[name]} is outside {spec}")
    assert problems == []
