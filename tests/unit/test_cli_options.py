"""labelling.cli without a database: configuration precedence, invite links, the progress bar, file names."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from labelling import cli


@pytest.fixture
def here(tmp_path, monkeypatch) -> Path:
    """A working directory with no secrets file and no configuration in the environment."""
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", cli.PUBLIC_URL_ENV):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def secrets_file(folder: Path, text: str) -> None:
    (folder / ".streamlit").mkdir(exist_ok=True)
    (folder / ".streamlit" / "secrets.toml").write_text(text)


def test_database_url_flag_then_secrets_then_environment_then_sqlite(here, monkeypatch):
    assert cli.database_url(None) == "sqlite:///labelling.db"
    monkeypatch.setenv("DATABASE_URL", "sqlite:///from-env.db")
    assert cli.database_url(None) == "sqlite:///from-env.db"
    secrets_file(here, 'database_url = "sqlite:///from-secrets.db"\n')
    assert cli.database_url(None) == "sqlite:///from-secrets.db"  # as the app: secrets.toml first
    assert cli.database_url("sqlite:///flag.db") == "sqlite:///flag.db"


def test_public_url_flag_then_secrets_then_environment_then_localhost(here, monkeypatch):
    assert cli.public_url(None) == cli.DEFAULT_PUBLIC_URL == "http://localhost:8501"
    monkeypatch.setenv(cli.PUBLIC_URL_ENV, "https://env.example.org")
    assert cli.public_url(None) == "https://env.example.org"
    secrets_file(here, 'public_url = "https://secrets.example.org"\n')
    assert cli.public_url(None) == "https://secrets.example.org"  # as the app (ui.invite_link): secrets.toml first
    assert cli.public_url("https://flag.example.org") == "https://flag.example.org"


def test_a_broken_secrets_file_is_refused_with_its_name(here, capsys):
    secrets_file(here, "database_url = \n")
    assert cli.main(["status"]) == 1
    err = capsys.readouterr().err
    assert "secrets.toml is not valid TOML" in err and "Traceback" not in err


def test_invite_link_matches_the_people_page():
    assert cli.invite_link("https://labels.example.org/", "abc") == "https://labels.example.org/?token=abc"
    assert cli.invite_link("http://10.0.0.5:8501/sub", "abc") == "http://10.0.0.5:8501/sub/?token=abc"


def test_progress_bar_without_a_terminal_writes_a_line_per_tenth():
    """One line when it starts, then one per 10% (a log file, not a redrawn bar)."""
    stream = io.StringIO()
    bar = cli.ProgressBar(stream)
    for step in range(1, 21):
        bar.update(step / 20, step * 100)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 11
    assert lines[-1] == "[" + "#" * cli.BAR_WIDTH + "] 100%  2,000 rows"


def test_progress_bar_on_a_terminal_redraws_one_line():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    bar = cli.ProgressBar(stream)
    bar.update(0.5, 10)
    bar.update(1.0, 20)
    bar.close()
    assert stream.getvalue().count("\r") == 2 and stream.getvalue().endswith("20 rows\n")


def test_file_names_of_export_all():
    assert cli._slug("Kettles / 2024 (v2)") == "kettles-2024-v2"
    assert cli._slug("★★★") == "project"


def test_flags_for_a_new_project_need_create(here, capsys):
    (here / "a.csv").write_text("text\nx\n")
    assert cli.main(["import", "a.csv", "--project", "P", "--overlap", "2"]) == 1
    assert "--overlap" in capsys.readouterr().err
    assert cli.main(["import", "a.csv", "--project", "P", "--create", "--labels", "a", "--overlap", "0"]) == 1
    assert "at least 1" in capsys.readouterr().err


def test_database_url_is_accepted_before_or_after_the_command():
    parser = cli.build_parser()
    assert parser.parse_args(["--database-url", "sqlite:///a.db", "status"]).database_url == "sqlite:///a.db"
    assert parser.parse_args(["status", "--database-url", "sqlite:///b.db"]).database_url == "sqlite:///b.db"
    assert parser.parse_args(["status"]).database_url is None


def test_worker_options_are_left_for_the_worker():
    args, extra = cli.build_parser().parse_known_args(["worker", "--once", "--project", "3"])
    assert args.run is cli.run_worker
    assert [*extra, *args.worker_args] == ["--once", "--project", "3"]


@pytest.mark.parametrize(
    "given, expected",
    [
        ("postgres://u@h:5432/d", "postgresql+psycopg2://u@h:5432/d"),
        ("postgresql://u@h/d", "postgresql+psycopg2://u@h/d"),
        ("postgresql+psycopg2://u@h/d", "postgresql+psycopg2://u@h/d"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_urls_use_the_installed_driver(given, expected):
    from labelling.storage.engine import resolve_url

    assert resolve_url(given) == expected
