"""The layout is the architecture: the README's module map names what exists, and a domain
package reaches into another only through its public names (the layer order itself is
import-linter's contract in pyproject.toml, run by ``make test``)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parent.parent
PINGYI = ROOT / "pingyi"


def _package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 and (PINGYI / parts[1]).is_dir() else "pingyi"


def _imports(path: Path):
    module = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            yield module, base, [a.name for a in node.names], node.lineno


def test_packages_use_each_other_through_public_names_only():
    wrong = []
    for path in PINGYI.rglob("*.py"):
        for module, target, names, line in _imports(path):
            if not target.startswith("pingyi") or _package_of(target) == _package_of(module):
                continue
            private = [n for n in names if n.startswith("_") and n != "_"]  # "_" is gettext + [p for p in target.split(".") if p.startswith("_")]
            if private:
                wrong.append(f"{module}:{line} imports {private} from {target}")
    assert wrong == []


def test_readme_module_map_matches_the_layout():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## Architecture in one screen", 1)[1].split("```", 2)[1]
    packages = sorted(p.name for p in PINGYI.iterdir() if (p / "__init__.py").exists())
    ground = sorted(p.stem for p in PINGYI.glob("*.py") if p.stem not in ("__init__", "cli"))
    named = set(re.findall(r"[a-z_0-9]+", block))
    assert [p for p in packages if f"pingyi/{p}/" not in block and f"{p}/" not in block] == []
    assert [m for m in ground if m not in named] == []
    for package in ("web", "reports", "results", "campaigns", "voting", "org", "oversight", "demo"):
        modules = sorted(p.stem for p in (PINGYI / package).glob("*.py") if p.stem != "__init__")
        missing = [m for m in modules if m not in named]
        assert missing == [], f"pingyi/{package}/: {missing} not in the README's map"
