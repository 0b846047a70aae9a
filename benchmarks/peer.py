"""Run the peer benchmark (superintendent 0.6.0's DatabaseQueue) from our own benchmark.

Why a separate virtualenv: superintendent 0.6.0 needs sqlmodel 0.0.16 (today's sqlmodel
breaks its enqueue), and sqlmodel 0.0.16 pins SQLAlchemy < 2.1, while this project runs on
SQLAlchemy 2.1.  The two cannot share one environment, so the peer lives in its own venv
(``.bench-venv`` at the repository root, git-ignored) and ``peer_superintendent.py`` runs
there in a subprocess, handing back one JSON object.

Standard library only: this module is imported in the project's environment.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections import deque
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
PEER_SCRIPT = Path(__file__).resolve().parent / "peer_superintendent.py"
PEER_REQUIREMENTS = {"superintendent": "0.6.0", "sqlmodel": "0.0.16"}
"""Exact pins; psycopg2-binary, SQLAlchemy 2.0.x, numpy... come in as their dependencies."""

_CHECK_VERSIONS = (
    "import importlib.metadata as m, json, sys; "
    "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
)


def _clean_env() -> dict[str, str]:
    """Environment for the venv's python: nothing that could leak the project's packages in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV"}
    }
    env["PYTHONNOUSERSITE"] = "1"
    return env


def _venv_python(venv: Path) -> Path:
    """The interpreter inside ``venv`` (POSIX layout; this project runs on Linux)."""
    return venv / "bin" / "python"


def _has_requirements(python: Path) -> bool:
    """True when ``python`` exists and has exactly the pinned peer packages (~50 ms)."""
    if not python.exists():
        return False
    probe = subprocess.run(
        [str(python), "-c", _CHECK_VERSIONS, *PEER_REQUIREMENTS],
        capture_output=True,
        text=True,
        env=_clean_env(),
        check=False,
    )
    if probe.returncode != 0:
        return False
    try:
        return json.loads(probe.stdout) == PEER_REQUIREMENTS
    except json.JSONDecodeError:
        return False


def ensure_peer_venv(path: str | os.PathLike[str] = ".bench-venv") -> Path:
    """Create the peer venv and install superintendent into it unless already there.

    A relative ``path`` is taken from the repository root (where ``.gitignore`` expects
    ``.bench-venv``), not the current directory.  Idempotent: when the pinned versions are
    already installed this only runs one quick version probe.  Returns the venv path.
    """
    venv = Path(path)
    if not venv.is_absolute():
        venv = REPO_ROOT / venv
    python = _venv_python(venv)
    if _has_requirements(python):
        return venv
    if not python.exists():
        print(f"[peer] creating virtualenv {venv}", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, env=_clean_env())
    pins = [f"{name}=={version}" for name, version in PEER_REQUIREMENTS.items()]
    print(f"[peer] pip install {' '.join(pins)} into {venv}", file=sys.stderr, flush=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *pins],
        check=True,
        env=_clean_env(),
    )
    if not _has_requirements(python):
        raise RuntimeError(f"{venv} still lacks {pins} after pip install")
    return venv


def measure_superintendent(
    url: str,
    items: int,
    reorder: int,
    workers: int = 8,
    pops: int = 50,
    *,
    venv: str | os.PathLike[str] = ".bench-venv",
    timeout: float | None = 3600.0,
) -> dict[str, Any]:
    """Benchmark superintendent's DatabaseQueue on ``url`` in the peer venv; return its JSON.

    The peer's progress lines are passed through to our stderr as they come, so a long
    run is visibly alive; on failure the exception carries the tail of that output.
    """
    python = _venv_python(ensure_peer_venv(venv))
    command = [
        str(python),
        str(PEER_SCRIPT),
        "--url",
        url,
        "--items",
        str(items),
        "--concurrency-workers",
        str(workers),
        "--pops-per-worker",
        str(pops),
        "--reorder",
        str(reorder),
    ]
    tail: deque[str] = deque(maxlen=40)
    with tempfile.TemporaryFile(mode="w+") as stdout:
        proc = subprocess.Popen(
            command,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            env=_clean_env(),
            cwd=REPO_ROOT,
            start_new_session=True,  # own process group: a kill also ends its spawned workers
        )
        assert proc.stderr is not None

        def tee() -> None:
            for line in proc.stderr:  # type: ignore[union-attr]
                sys.stderr.write(line)
                tail.append(line)

        reader = threading.Thread(target=tee, daemon=True)
        reader.start()
        try:
            returncode = proc.wait(timeout=timeout)
        except BaseException:  # timeout or Ctrl-C: do not leave the peer running
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise
        finally:
            reader.join(timeout=10)
        stdout.seek(0)
        output = stdout.read()
    if returncode != 0:
        raise RuntimeError(
            f"peer benchmark exited with {returncode}:\n" + "".join(tail).rstrip()
        )
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        raise RuntimeError("peer benchmark printed no JSON on stdout")
    return json.loads(lines[-1])
