"""labelling.cli without a database: a broken configuration, the progress bar, file names, the grammar."""

from __future__ import annotations

import io

import pytest

from labelling import cli
from labelling.cli import commands, files
from labelling.io.export import file_slug
from labelling.settings import SOURCES


def test_a_broken_secrets_file_is_refused_with_its_name(write_secrets, capsys):
    write_secrets("database_url = \n")
    assert cli.main(["status"]) == 1
    err = capsys.readouterr().err
    assert "secrets.toml is not valid TOML" in err and "Traceback" not in err


def test_a_bad_lease_is_refused_by_every_command(here, capsys, monkeypatch):
    monkeypatch.setenv(SOURCES["lease_seconds"].environment, "-5")
    assert cli.main(["status"]) == 1
    assert "lease_seconds must be a positive number" in capsys.readouterr().err


def test_progress_bar_without_a_terminal_writes_a_line_per_tenth():
    """One line when it starts, then one per 10% (a log file, not a redrawn bar)."""
    stream = io.StringIO()
    bar = files.ProgressBar(stream)
    for step in range(1, 21):
        bar.update(step / 20, step * 100)
    bar.close()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 11
    assert lines[-1] == "[" + "#" * files.BAR_WIDTH + "] 100%  2,000 rows"


def test_progress_bar_on_a_terminal_redraws_one_line():
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    bar = files.ProgressBar(stream)
    bar.update(0.5, 10)
    bar.update(1.0, 20)
    bar.close()
    assert stream.getvalue().count("\r") == 2 and stream.getvalue().endswith("20 rows\n")


def test_file_names_of_export_all():
    assert file_slug("Kettles / 2024 (v2)") == "kettles-2024-v2"
    assert file_slug("★★★") == "project"


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
    assert args.run is commands.run_worker
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
