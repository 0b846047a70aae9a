"""`pip install .` gives the `labelling` command: the library is built as a user would install it (into a
folder of its own, from a copy of the files pyproject.toml packages), then the installed command migrates,
imports, exports and reports from outside the checkout, so only what was installed can be used."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
INSTALL_SECONDS = 300
PACKAGED = ("pyproject.toml", "requirements.txt", "requirements-embeddings.txt", "README.md")


def test_the_installed_labelling_command_works_outside_the_checkout(tmp_path):
    source, target, work = tmp_path / "source", tmp_path / "installed", tmp_path / "work"
    source.mkdir()
    for name in PACKAGED:
        shutil.copy(REPO / name, source / name)
    shutil.copytree(REPO / "labelling", source / "labelling", ignore=shutil.ignore_patterns("__pycache__"))
    built = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check",
         "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=INSTALL_SECONDS,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    command = target / "bin" / "labelling"
    assert command.is_file()

    work.mkdir()
    (work / "reviews.csv").write_text("text,label\nlovely,good\nawful,bad\nfine,\n")
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONPATH")}
    environment["PYTHONPATH"] = str(target)  # the installed copy, not the checkout

    def labelling(*args: str) -> str:
        result = subprocess.run(
            [str(command), "--database-url", f"sqlite:///{work / 'installed.db'}", *args],
            cwd=work, env=environment, capture_output=True, text=True, timeout=INSTALL_SECONDS,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout + result.stderr

    assert "up to date" in labelling("migrate")  # the migrations were packaged
    labelling("import", "reviews.csv", "--project", "Reviews", "--create", "--label-column", "label")
    assert "Reviews" in labelling("status")
    exported = labelling("export", "--project", "Reviews", "--format", "csv")
    assert "lovely" in exported and "awful" in exported
    demo = subprocess.run(
        [sys.executable, "-c", "import labelling, labelling.setup.demo as d; print(labelling.__file__, d.REVIEWS_CSV.is_file())"],
        cwd=work, env=environment, capture_output=True, text=True, timeout=INSTALL_SECONDS,
    )
    assert demo.stdout.split() == [str(target / "labelling" / "__init__.py"), "True"], demo.stderr

