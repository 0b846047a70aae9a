"""The layout keeps its promises (docs/architecture.md): packages import only the floors below them, only the
storage layer speaks SQL, the library never imports the Streamlit side, and no module grows past 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LIBRARY = REPO / "labelling"
MAX_LINES = 400

FLOORS: dict[str, set[str]] = {
    "errors": set(),
    "records": set(),
    "text": {"errors"},
    "people": {"errors", "text"},
    "throttle": set(),
    "quality": {"records"},
    "io": {"errors", "records", "text", "quality"},
    "storage": {"errors", "records", "text", "people", "quality", "io"},
    "settings": {"errors", "io", "storage"},
    "setup": {"errors", "records", "text", "io", "storage"},
    "learning": {"errors", "records", "quality", "io", "storage", "settings"},
    "cli": {"errors", "records", "people", "io", "storage", "settings", "setup", "learning"},
}
"""Each part of labelling/ and what it may import (besides itself); `labelling/__init__.py` re-exports the
public API and `__main__` starts the CLI."""


def _modules(root: Path) -> list[Path]:
    return [path for path in root.rglob("*.py") if "versions" not in path.parts]


def _part(path: Path) -> str:
    return path.relative_to(LIBRARY).parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "labelling":
                found.update(f"labelling.{alias.name}" for alias in node.names)
            else:
                found.add(node.module)
    return found


@pytest.mark.parametrize("path", _modules(LIBRARY), ids=lambda p: str(p.relative_to(REPO)))
def test_a_module_imports_only_the_floors_below_it(path):
    part = _part(path)
    if part in ("__init__", "__main__"):
        return
    allowed = FLOORS[part] | {part}
    ours = {name.split(".")[1] for name in _imports(path) if name.startswith("labelling.")}
    assert ours <= allowed, f"{path.relative_to(REPO)} imports {sorted(ours - allowed)} above or beside it"


def _roots(path: Path) -> set[str]:
    return {name.split(".")[0] for name in _imports(path)}


def test_only_the_storage_layer_speaks_sql():
    sources = _modules(LIBRARY) + _modules(REPO / "ui") + _modules(REPO / "pages") + [REPO / "streamlit_app.py"]
    outside = [p for p in sources if not p.is_relative_to(LIBRARY / "storage")]
    assert [str(p.relative_to(REPO)) for p in outside if {"sqlalchemy", "psycopg2", "alembic"} & _roots(p)] == []


def test_the_library_never_imports_the_streamlit_side():
    assert [str(p.relative_to(REPO)) for p in _modules(LIBRARY) if {"streamlit", "ui"} & _roots(p)] == []


def test_no_module_passes_the_size_limit():
    sources = _modules(LIBRARY) + _modules(REPO / "ui") + _modules(REPO / "pages") + [REPO / "streamlit_app.py"]
    long = {str(p.relative_to(REPO)): n for p in sources if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_every_package_says_what_it_owns():
    packages = [p for p in LIBRARY.iterdir() if (p / "__init__.py").exists()] + [REPO / "ui"]
    silent = [p.name for p in packages if not ast.get_docstring(ast.parse((p / "__init__.py").read_text()))]
    assert silent == []
