"""Dockerfile, compose.yaml and .dockerignore, read without a Docker engine (none runs on these machines).

Checks the services, health checks, environment, the non-root user, and that every command the files run
exists in the project. The commands themselves run natively elsewhere: `streamlit run streamlit_app.py`
in tests/e2e, `python -m labelling ...` in tests/integration/test_cli.py and, with compose's own flags, here.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sqlalchemy.engine import make_url
from streamlit import config as streamlit_config

from labelling import cli
from labelling.cli import commands

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_ENV = {"POSTGRES_PASSWORD": "pw-123", "LABELLING_ADMIN_PASSWORD": "admin-pw"}


# Reading the files


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    instructions, pending = [], ""
    for line in (REPO / "Dockerfile").read_text().splitlines():
        if line.strip().startswith("#") or not line.strip():
            continue
        pending += line.rstrip()
        if pending.endswith("\\"):
            pending = pending[:-1] + " "
            continue
        word, _, rest = pending.strip().partition(" ")
        instructions.append((word.upper(), rest.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends inside a continued line"
    return instructions


def instruction(name: str) -> list[str]:
    return [args for word, args in dockerfile() if word == name]


def exec_form(args: str) -> list[str]:
    """A JSON-array CMD/HEALTHCHECK CMD (exec form: no shell between Docker and the program)."""
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), args
    return value


def compose() -> dict:
    with open(REPO / "compose.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


_VARIABLE = re.compile(r"\$\{(\w+)(?:(:?)([-?])([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error} and ${VAR?error}."""

    def one(match: re.Match) -> str:
        name, colon, kind, word = match.groups()
        given = env.get(name)
        missing = given is None or (colon == ":" and given == "")
        if kind == "-":
            return word if missing else given
        if kind == "?" and missing:
            raise KeyError(f"{name}: {word}")
        return given or ""

    return _VARIABLE.sub(one, value)


def environment(service: str) -> dict[str, str]:
    value = compose()["services"][service].get("environment") or {}
    assert isinstance(value, dict), f"{service}: write environment as a mapping"
    return {str(k): str(v) for k, v in value.items()}


def source_files() -> list[Path]:
    entry = [REPO / "server.py", REPO / "streamlit_app.py", *(REPO / "ui").glob("*.py")]
    return [*entry, *(REPO / "labelling").rglob("*.py"), *(REPO / "pages").glob("*.py")]


def read_by_the_code(name: str) -> bool:
    return any(f'"{name}"' in path.read_text(encoding="utf-8") for path in source_files())


def streamlit_option(variable: str) -> str | None:
    """STREAMLIT_SERVER_MAX_UPLOAD_SIZE -> server.maxUploadSize, when Streamlit has such an option."""
    for key in streamlit_config.get_config_options():
        if "STREAMLIT_" + re.sub(r"([a-z])([A-Z])", r"\1_\2", key).replace(".", "_").upper() == variable:
            return key
    return None


# Dockerfile


def test_the_image_is_slim_python_run_by_an_unprivileged_user():
    (base,) = instruction("FROM")
    assert base == "python:3.11-slim"
    users = instruction("USER")
    assert users and users[-1] not in ("root", "0"), users
    created = " ".join(instruction("RUN"))
    assert re.search(rf"useradd\b[^&]*\b{re.escape(users[-1])}\b", created), "the USER is never created"
    order = [word for word, _ in dockerfile()]
    assert order.index("USER") > max(i for i, (w, a) in enumerate(dockerfile()) if w == "RUN"), (
        "every RUN (pip install) happens before switching to the unprivileged user"
    )
    assert order.index("USER") < order.index("CMD")


def test_the_image_installs_the_requirements_and_copies_files_that_exist():
    assert any(re.search(r"pip install (-\S+ )*-r requirements\.txt", run) for run in instruction("RUN"))
    for copy in instruction("COPY"):
        *sources, _target = shlex.split(copy)
        for source in sources:
            if not source.startswith("--"):
                assert (REPO / source).exists(), f"COPY {source}: no such file in the project"


def test_the_health_check_asks_streamlit_on_the_port_the_command_serves():
    (check,) = instruction("HEALTHCHECK")
    options, _, command = check.partition("CMD ")
    assert "--interval=" in options and "--timeout=" in options
    argv = exec_form(command)
    assert argv[:2] == ["python", "-c"]
    compile(argv[2], "<healthcheck>", "exec")  # the Python it runs is valid
    assert "/_stcore/health" in argv[2]
    (cmd,) = instruction("CMD")
    port = next(a.split("=", 1)[1] for a in exec_form(cmd) if a.startswith("--server.port="))
    assert f":{port}/_stcore/health" in argv[2]
    assert instruction("EXPOSE") == [port]


def test_the_command_runs_the_app_entry_file_with_real_streamlit_options():
    (cmd,) = instruction("CMD")
    argv = exec_form(cmd)
    assert argv[:3] == ["streamlit", "run", "server.py"]  # streamlit_app.py behind the upload gate
    assert (REPO / argv[2]).is_file()
    assert re.search(r"^streamlit==", (REPO / "requirements.txt").read_text(), re.MULTILINE)
    for flag in argv[3:]:
        key = flag.removeprefix("--").split("=", 1)[0]
        assert key in streamlit_config.get_config_options(), f"{flag}: not a Streamlit option"


def test_dockerignore_keeps_the_app_and_leaves_out_secrets_and_databases():
    lines = (REPO / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]

    def ignored(path: str) -> bool:
        """A pattern matches the path or a folder above it; `**/x` matches x at any depth."""
        parts = path.split("/")
        folders = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        for pattern in patterns:
            if pattern.startswith("**/"):
                if any(fnmatch.fnmatch(part, pattern.removeprefix("**/")) for part in parts):
                    return True
            elif any(fnmatch.fnmatch(folder, pattern) for folder in folders):
                return True
        return False

    needed = ["server.py", "streamlit_app.py", "requirements.txt", ".streamlit/config.toml"]
    needed += [str(p.relative_to(REPO)) for folder in ("pages", "ui") for p in (REPO / folder).glob("*.py")]
    library = [p for p in (REPO / "labelling").rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    needed += [str(p.relative_to(REPO)) for p in library]
    for path in needed:
        assert not ignored(path), f"{path} is needed in the image but .dockerignore leaves it out"
    for path in [".streamlit/secrets.toml", "labelling.db", ".git/config", ".env", "labelling/__pycache__/x.pyc"]:
        assert ignored(path), f"{path} must not go into the image"


# compose.yaml


def test_services_are_database_app_worker_and_an_optional_browser():
    services = compose()["services"]
    assert set(services) == {"db", "app", "worker", "adminer"}
    assert services["adminer"].get("profiles"), "the database browser starts only when asked for (a profile)"
    assert all(not services[name].get("profiles") for name in ("db", "app", "worker"))


def test_the_database_keeps_its_data_in_a_named_volume_and_reports_health():
    spec = compose()
    db = spec["services"]["db"]
    assert re.fullmatch(r"postgres:15(\.\d+)?", db["image"])
    volumes = [v.split(":") for v in db["volumes"]]
    assert ["pgdata", "/var/lib/postgresql/data"] in volumes
    assert "pgdata" in spec["volumes"]
    test = db["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL" and test[1].startswith("pg_isready")
    env = environment("db")
    assert f"-U {env['POSTGRES_USER']}" in test[1] and f"-d {env['POSTGRES_DB']}" in test[1]


def test_app_and_worker_start_once_the_database_is_healthy():
    services = compose()["services"]
    for name in ("app", "worker"):
        assert services[name]["depends_on"]["db"]["condition"] == "service_healthy", name
        assert services[name].get("restart") == "unless-stopped"


def test_app_and_worker_use_one_postgresql_database_with_the_installed_driver():
    db = environment("db")
    urls = {name: make_url(interpolate(environment(name)["DATABASE_URL"], EXAMPLE_ENV)) for name in ("app", "worker")}
    assert urls["app"] == urls["worker"]
    url = urls["app"]
    assert url.drivername == "postgresql+psycopg2"  # SQLAlchemy 2.1's bare postgresql:// wants psycopg 3
    assert re.search(r"^psycopg2-binary==", (REPO / "requirements.txt").read_text(), re.MULTILINE)
    assert (url.host, url.port) == ("db", 5432)
    assert url.username == db["POSTGRES_USER"] and url.database == db["POSTGRES_DB"]
    assert url.password == EXAMPLE_ENV["POSTGRES_PASSWORD"]


def test_secrets_come_from_the_environment_and_must_be_set():
    for service, name in (("db", "POSTGRES_PASSWORD"), ("app", "LABELLING_ADMIN_PASSWORD")):
        value = environment(service)[name]
        required = re.fullmatch(rf"\$\{{{name}:\?[^}}]+\}}", value)
        assert required, f"{service}.{name} must be required from the environment"
        with pytest.raises(KeyError):
            interpolate(value, {})


def test_every_app_setting_is_read_by_the_code():
    for name, value in environment("app").items():
        interpolate(value, EXAMPLE_ENV)  # every variable has a value or a default
        if name.startswith("STREAMLIT_"):
            assert streamlit_option(name), f"{name}: Streamlit has no such option"
        else:
            assert read_by_the_code(name), f"{name}: nothing in the app reads it"
    assert read_by_the_code("LABELLING_MODEL_DIR")  # the Dockerfile's models folder


def test_the_app_publishes_the_port_the_image_serves():
    (exposed,) = instruction("EXPOSE")
    ports = [interpolate(p, EXAMPLE_ENV) for p in compose()["services"]["app"]["ports"]]
    assert any(p.endswith(f":{exposed}") for p in ports), ports


def test_app_and_worker_build_the_same_image():
    services = compose()["services"]
    assert services["app"]["build"] == services["worker"]["build"] == "."
    assert services["app"]["image"] == services["worker"]["image"]


def test_the_worker_command_is_the_cli_and_has_no_web_health_check():
    worker = compose()["services"]["worker"]
    argv = [interpolate(str(a), EXAMPLE_ENV) for a in worker["command"]]
    assert argv[:4] == ["python", "-m", "labelling", "worker"]
    assert (REPO / "labelling" / "__main__.py").is_file()
    args, _ = cli.build_parser().parse_known_args(argv[3:])
    assert args.run is commands.run_worker
    assert worker["healthcheck"] == {"disable": True}


def test_the_worker_command_runs_natively_with_compose_flags(tmp_path):
    argv = [interpolate(str(a), EXAMPLE_ENV) for a in compose()["services"]["worker"]["command"]]
    env = {**os.environ, "PYTHONPATH": str(REPO), "DATABASE_URL": f"sqlite:///{tmp_path / 'labelling.db'}"}
    result = subprocess.run(
        [sys.executable, *argv[1:], "--once"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
