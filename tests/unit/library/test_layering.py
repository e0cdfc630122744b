"""The arrows between packages: the domain depends on nothing above it, and no production code
reaches the dev tooling (`orderlens_devtools`, never installed in a service image)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
LIBRARY = ROOT / "shared" / "src" / "orderlens"
SERVICES = sorted(p for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").is_file())


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_domain_imports_nothing_of_orderlens_outside_domain() -> None:
    wrong = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in (LIBRARY / "domain").rglob("*.py")
        for name in imported_modules(path)
        if name.startswith("orderlens.") and not name.startswith("orderlens.domain")
    }
    assert not wrong, sorted(wrong)


def test_production_code_never_imports_the_dev_tooling() -> None:
    sources = [*LIBRARY.rglob("*.py"), *(p for s in SERVICES for p in (s / "src").rglob("*.py"))]
    wrong = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in sources
        for name in imported_modules(path)
        if name.split(".")[0] == "orderlens_devtools"
    }
    assert not wrong, sorted(wrong)
    assert not (LIBRARY / "devstack").exists()
    assert not (LIBRARY / "cli").exists()


def test_no_production_package_depends_on_the_dev_tooling() -> None:
    for pyproject in [
        ROOT / "shared" / "pyproject.toml",
        *(s / "pyproject.toml" for s in SERVICES),
    ]:
        project = tomllib.loads(pyproject.read_text())["project"]
        dependencies = " ".join(project.get("dependencies", []))
        assert "orderlens-devtools" not in dependencies, pyproject
        assert "orderlens_devtools" not in str(project.get("scripts", {})), pyproject
