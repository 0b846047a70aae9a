"""`python -m labelling` as a real subprocess, on SQLite and PostgreSQL: import, export, invite links, status,
migrate, and one-line refusals with exit code 1 (never a traceback)."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from labelling import Store, cli

REPO = Path(__file__).resolve().parents[2]
CLI_SECONDS = 120


def run(*args: str, cwd: Path, db: str | None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """The CLI in a fresh interpreter; the working directory has no .streamlit/secrets.toml."""
    environment = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "LABELLING_PUBLIC_URL")}
    environment["PYTHONPATH"] = str(REPO)
    if db is not None:
        environment["DATABASE_URL"] = db
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "labelling", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=CLI_SECONDS,
    )


def assert_refused(result: subprocess.CompletedProcess, *words: str) -> None:
    """Exit code 1 and one line on stderr naming the problem."""
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("labelling: "), result.stderr
    for word in words:
        assert word.lower() in lines[0].lower(), f"{word!r} not in {lines[0]!r}"


@dataclass(frozen=True)
class Called:
    code: int
    out: str
    err: str


@pytest.fixture
def call(monkeypatch, capsys):
    """The CLI's entry point in this process (fast), for the variations of what a subprocess test covers."""

    def call_main(argv: list[str], db: str | None, cwd: Path) -> Called:
        monkeypatch.chdir(cwd)
        if db is None:
            monkeypatch.delenv("DATABASE_URL", raising=False)
        else:
            monkeypatch.setenv("DATABASE_URL", db)
        monkeypatch.delenv("LABELLING_PUBLIC_URL", raising=False)
        capsys.readouterr()
        code = cli.main(argv)
        captured = capsys.readouterr()
        return Called(code, captured.out, captured.err)

    return call_main


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


REVIEWS = [
    [1, "Boils fast, quiet and sturdy.", "positive"],
    [2, "The lid broke on day two.", "negative"],
    [3, "Arrived on time.", ""],
    [4, "=HYPERLINK(\"http://example.org\")", ""],
    [5, "Lovely colour; works well.", "positive"],
]


@pytest.fixture
def reviews(tmp_path) -> Path:
    return write_csv(tmp_path / "reviews.csv", ["id", "review", "sentiment"], REVIEWS)


@pytest.fixture
def opened(db_url):
    """A store on the same database the subprocesses use."""
    stores = []

    def open_store() -> Store:
        stores.append(Store.connect(db_url))
        return stores[-1]

    yield open_store
    for store in stores:
        store.close()


def test_import_creates_a_project_and_export_gives_the_labels_back(db_url, tmp_path, reviews, opened, call):
    result = run("import", str(reviews), "--project", "Kettles", "--create", "--label-column", "sentiment",
                 cwd=tmp_path, db=db_url)
    assert result.returncode == 0, result.stderr
    assert "imported 5 items into 'Kettles'" in result.stdout
    assert "100%" in result.stderr and "5 rows" in result.stderr  # the progress bar
    assert "showing column 'review'" in result.stderr  # the Setup page's guess, said out loud

    store = opened()
    project = store.project("Kettles")
    assert project.labels == ("positive", "negative")  # from the label column, most frequent first
    assert project.settings["text_column"] == "review"
    assert project.settings["label_column"] == "sentiment"
    progress = store.progress(project.id)
    assert (progress.total, progress.complete) == (5, 3)

    status = call(["status"], db_url, tmp_path)
    assert status.code == 0, status.err
    header, row = status.out.strip().splitlines()
    assert header.split()[:3] == ["id", "project", "items"]
    assert row.split()[1:5] == ["Kettles", "5", "3", "0"] and row.split()[-1] == "60%"

    out = tmp_path / "kettles.csv"
    exported = run("export", "--project", "Kettles", "--format", "csv", "--output", str(out), cwd=tmp_path, db=db_url)
    assert exported.returncode == 0, exported.stderr
    items = pd.read_csv(out, keep_default_na=False)
    assert list(items["review"]) == [r[1] if r[0] != 4 else "'" + r[1] for r in REVIEWS]  # formula neutralised
    assert list(items["label"]) == [r[2] for r in REVIEWS]
    assert "sentiment" not in items.columns  # the label column became labels, not item data

    long = run("export", "--project", "Kettles", "--format", "jsonl", "--long", cwd=tmp_path, db=db_url)
    assert long.returncode == 0, long.stderr
    rows = [json.loads(line) for line in long.stdout.splitlines()]
    assert sorted(r["label"] for r in rows) == ["negative", "positive", "positive"]
    assert {r["labeller"] for r in rows} == {"import"} and all(r["source"] == "import" for r in rows)


def test_import_adds_all_rows_or_none(db_url, tmp_path, reviews, opened, call):
    created = run("import", str(reviews), "--project", "Kettles", "--create", "--labels", "positive,negative,neutral",
                  "--text-column", "review", cwd=tmp_path, db=db_url)
    assert created.returncode == 0, created.stderr
    store = opened()
    project = store.project("Kettles")
    assert project.labels == ("positive", "negative", "neutral")
    assert store.progress(project.id).complete == 0  # no --label-column: nothing imported as labelled

    more = [[10 + i, f"another review {i}", "neutral"] for i in range(40)] + [[99, "last one", "angry"]]
    bad = write_csv(tmp_path / "more.csv", ["id", "review", "sentiment"], more)
    refused = run("import", str(bad), "--project", "Kettles", "--label-column", "sentiment", cwd=tmp_path, db=db_url)
    assert_refused(refused, "row 41", "angry")
    assert store.progress(project.id).total == 5  # the 40 good rows before it were not kept

    good = write_csv(tmp_path / "good.csv", ["review", "extra"], [["fine", 1], ["", ""], ["broken", 2]])
    added = call(["import", str(good), "--project", "Kettles"], db_url, tmp_path)
    assert added.code == 0, added.err
    assert "imported 2 items (1 empty row left out)" in added.out
    assert store.progress(project.id).total == 7

    wrong = write_csv(tmp_path / "wrong.csv", ["text"], [["no review column"]])
    refused = call(["import", str(wrong), "--project", "Kettles"], db_url, tmp_path)
    assert refused.code == 1 and "'review'" in refused.err
    assert store.progress(project.id).total == 7

    one = call(["import", str(good), "--project", "One", "--create", "--labels", "ok"], db_url, tmp_path)
    assert one.code == 0 and "warning: one label ('ok'): every item gets the same answer" in one.err


def test_import_checks_are_the_setup_pages(db_url, tmp_path, reviews, opened, call):
    """labelling.setup.csv_import's checks: an empty entry in --labels is ignored (as a blank line on the Setup page),
    and a column labellers see cannot also bring labels."""
    created = call(["import", str(reviews), "--project", "K", "--create", "--labels", "positive,negative,"],
                   db_url, tmp_path)
    assert created.code == 0, created.err
    store = opened()
    project = store.project("K")
    assert project.labels == ("positive", "negative")
    refused = call(["import", str(reviews), "--project", "K", "--label-column", "review"], db_url, tmp_path)
    assert refused.code == 1 and "'review' is shown to labellers" in refused.err
    assert store.progress(project.id).total == 5


def test_a_refused_new_project_leaves_nothing_behind(db_url, tmp_path, opened):
    rows = [[f"text {i}", "a" if i < 30 else "zzz"] for i in range(31)]
    path = write_csv(tmp_path / "bad.csv", ["text", "label"], rows)
    result = run("import", str(path), "--project", "P", "--create", "--labels", "a,b", "--label-column", "label",
                 cwd=tmp_path, db=db_url)
    assert_refused(result, "row 31", "zzz")
    assert opened().projects() == []


def test_labeller_add_prints_a_working_invite_link_and_revoke_stops_it(db_url, tmp_path, opened, call):
    added = run("labeller", "add", "alice", cwd=tmp_path, db=db_url,
                env={"LABELLING_PUBLIC_URL": "https://labels.example.org/"})
    assert added.returncode == 0, added.stderr
    link = added.stdout.strip()
    assert link.startswith("https://labels.example.org/?token=")
    assert "shown only now" in added.stderr
    store = opened()
    token = link.split("token=", 1)[1]
    assert store.people.for_token(token).name == "alice"

    admin = call(["labeller", "add", "carol", "--role", "admin", "--public-url", "http://10.0.0.5:8501"], db_url,
                 tmp_path)
    assert admin.code == 0, admin.err
    assert admin.out.startswith("http://10.0.0.5:8501/?token=")
    assert store.people.for_token(admin.out.strip().split("token=")[1]).role == "admin"
    twice = call(["labeller", "add", "alice"], db_url, tmp_path)
    assert twice.code == 1 and "exists already" in twice.err

    revoked = run("labeller", "revoke", "alice", cwd=tmp_path, db=db_url)
    assert revoked.returncode == 0, revoked.stderr
    assert store.people.for_token(token) is None
    nobody = call(["labeller", "revoke", "nobody"], db_url, tmp_path)
    assert nobody.code == 1 and "no labeller named 'nobody'" in nobody.err


def test_export_all_writes_every_project(db_url, tmp_path, opened, call):
    store = opened()
    first = store.create_project("Kettles / 2024", ["a", "b"])
    store.add_items(first.id, ["x", "y"])
    second = store.create_project("Digits", ["0", "1"], multi_label=True)
    store.add_items(second.id, ["p", "q", "r"])
    item = store.next_item(first.id, "alice")
    store.submit(first.id, item.id, "alice", "b")
    item = store.next_item(second.id, "bob")
    store.submit(second.id, item.id, "bob", ["0", "1"])

    folder = tmp_path / "backup"
    result = run("export", "--all", "--output-dir", str(folder), "--format", "jsonl", cwd=tmp_path, db=db_url)
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(
        [f"{first.id}-kettles-2024-items.jsonl", f"{first.id}-kettles-2024-annotations.jsonl",
         f"{second.id}-digits-items.jsonl", f"{second.id}-digits-annotations.jsonl"]
    )
    assert sorted(result.stdout.split()) == sorted(str(folder / n) for n in names)
    read = lambda name: [json.loads(line) for line in (folder / name).read_text(encoding="utf-8").splitlines()]
    assert [r["label"] for r in read(f"{first.id}-kettles-2024-items.jsonl")] == ["b", None]
    assert [(r["labeller"], r["label"]) for r in read(f"{second.id}-digits-annotations.jsonl")] == [("bob", ["0", "1"])]

    as_csv = call(["export", "--all", "--output-dir", str(tmp_path / "csv")], db_url, tmp_path)
    assert as_csv.code == 0, as_csv.err
    frame = pd.read_csv(tmp_path / "csv" / f"{second.id}-digits-items.csv", keep_default_na=False)
    assert list(frame["label"]) == ["0|1", "", ""]


def test_migrate_then_status_on_an_empty_database(db_url, tmp_path, opened, call):
    migrated = run("migrate", cwd=tmp_path, db=None, env={"DATABASE_URL": db_url})
    assert migrated.returncode == 0, migrated.stderr
    assert "up to date" in migrated.stdout
    assert Store(opened().engine).projects() == []
    again = call(["--database-url", db_url, "migrate"], None, tmp_path)  # twice is harmless
    assert again.code == 0, again.err
    status = call(["status", "--database-url", db_url], None, tmp_path)
    assert status.code == 0 and "no projects yet" in status.out


def test_refusals_name_the_problem_on_one_line(db_url, tmp_path, reviews, monkeypatch, capsys):
    """The same entry point in this process (fast): exit code 1, one line, no traceback, nothing written."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", db_url)
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "ragged.csv").write_text("a,b\n1,2\n3\n")
    cases = [
        (["import", "missing.csv", "--project", "P"], ["missing.csv"]),
        (["import", str(reviews), "--project", "Nope"], ["'Nope'", "--create"]),
        (["export", "--project", "Nope"], ["'Nope'"]),
        (["import", str(reviews), "--project", "P", "--create"], ["--labels"]),
        (["import", str(reviews), "--project", "P", "--labels", "a,b"], ["--create"]),
        (["import", "empty.csv", "--project", "P", "--create", "--labels", "a"], ["empty"]),
        (["import", "ragged.csv", "--project", "P", "--create", "--labels", "a"], ["line 3"]),
        (["import", str(reviews), "--project", "P", "--create", "--labels", "a,a"], ["duplicated"]),
        (["import", str(reviews), "--project", "P", "--create", "--labels", "a", "--text-column", "nope"], ["'nope'"]),
        (["import", str(reviews), "--project", "P", "--create", "--label-column", "review", "--text-column", "review"],
         ["'review'"]),
        (["export", "--all"], ["--output-dir"]),
        (["export", "--project", "P", "--output-dir", "x"], ["--all"]),
        (["export", "--project", "P", "--output", str(tmp_path)], ["folder"]),
        (["labeller", "add", "admin"], ["reserved"]),
    ]
    for argv, words in cases:
        capsys.readouterr()
        assert cli.main(argv) == 1, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("labelling: "), (argv, err)
        for word in words:
            assert word.lower() in err[0].lower(), (argv, err)
    store = opened_store(db_url)
    assert store.projects() == []
    store.close()


def opened_store(url: str) -> Store:
    return Store.connect(url)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_database_is_one_line_without_the_password(tmp_path):
    url = f"postgresql+psycopg2://labelling:s3cret@127.0.0.1:{_closed_port()}/labelling"
    result = run("status", cwd=tmp_path, db=url)
    assert_refused(result, "cannot reach the database", "127.0.0.1")
    assert "s3cret" not in result.stderr
    assert_refused(run("status", cwd=tmp_path, db="not a url"), "not a usable database url")


def test_the_app_secrets_file_names_the_database(tmp_path, sqlite_url):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(f'database_url = "{sqlite_url}"\n')
    store = Store.connect(sqlite_url)
    store.create_project("From secrets", ["a"])
    store.close()
    result = run("status", cwd=tmp_path, db=None)
    assert result.returncode == 0, result.stderr
    assert "From secrets" in result.stdout


def test_usage_errors_exit_2(tmp_path, capsys):
    result = run("export", cwd=tmp_path, db=None)
    assert result.returncode == 2, result.stderr
    assert "usage:" in result.stderr and "Traceback" not in result.stderr
    for args in (["frobnicate"], ["labeller"], ["status", "--bogus"], ["export", "--project", "P", "--format", "xml"]):
        with pytest.raises(SystemExit) as exited:
            cli.main(args)
        assert exited.value.code == 2, args
        assert "usage:" in capsys.readouterr().err


def test_worker_hands_its_options_to_labelling_worker(tmp_path, sqlite_url):
    helped = run("worker", "--help", cwd=tmp_path, db=sqlite_url)
    assert helped.returncode == 0, helped.stderr
    assert "--every-labels" in helped.stdout  # the worker's own help, not the CLI's
    store = Store.connect(sqlite_url)
    trained, left_alone = (store.create_project(name, ["a", "b"]) for name in ("trained", "left alone"))
    for project in (trained, left_alone):
        store.add_items(project.id, [f"{word} {i}" for i in range(6) for word in ("apple", "bolt")])
        for item_id in store.export(project.id)["item_id"]:
            store.submit(project.id, int(item_id), "ann", "a" if item_id % 2 else "b")
    once = run("--database-url", sqlite_url, "worker", "--once", "--project", "trained", cwd=tmp_path, db=None)
    assert once.returncode == 0, once.stderr
    assert "Traceback" not in once.stderr
    assert [r.status for r in store.training_runs(trained.id)] == ["finished"]
    assert store.training_runs(left_alone.id) == []  # --project reached the worker
    unknown = run("--database-url", sqlite_url, "worker", "--once", "--project", "nope", cwd=tmp_path, db=None)
    assert unknown.returncode == 1 and "no project 'nope'" in unknown.stderr
    store.close()


def test_versions_saved_listed_compared_and_exported_by_name(db_url, tmp_path, opened, call):
    store = opened()
    project = store.create_project("Kettles", ["a", "b"])
    store.add_items(project.id, ["x", "y", "z"])
    for label in ("a", "b"):
        item = store.next_item(project.id, "alice")
        store.submit(project.id, item.id, "alice", label)
    saved = call(["version", "save", "friday", "--project", "Kettles"], db_url, tmp_path)
    assert saved.code == 0, saved.err
    assert "saved version 'friday'" in saved.out and "2 labelled items" in saved.out
    first = store.versions.find(project.id, "friday")
    store.adjudicate(project.id, item.id, "admin", "a")

    listed = call(["version", "list", "--project", "Kettles"], db_url, tmp_path)
    assert listed.out.split("\t")[:2] == [str(first.id), "friday"] and "admin" in listed.out
    diff = call(["version", "diff", "friday", "--project", "Kettles"], db_url, tmp_path)
    assert diff.code == 0, diff.err
    assert diff.out.splitlines()[:2] == [
        "friday -> current labels: 1 changed, 0 added, 0 removed", f"changed: {item.id}"
    ]

    out = tmp_path / "friday.parquet"
    exported = call(["export", "--project", "Kettles", "--version", "friday", "--format", "parquet", "--output",
                     str(out)], db_url, tmp_path)
    assert exported.code == 0, exported.err
    frame = pd.read_parquet(out)
    assert frame["data"].tolist() == ["x", "y"] and frame["label"].tolist() == ["a", "b"]
    by_id = call(["export", "--project", "Kettles", "--version", str(first.id), "--format", "parquet", "--output",
                  str(tmp_path / "by-id.parquet")], db_url, tmp_path)
    assert by_id.code == 0 and (tmp_path / "by-id.parquet").read_bytes() == out.read_bytes()
    unknown = call(["version", "diff", "monday", "--project", "Kettles"], db_url, tmp_path)
    assert unknown.code == 1 and "no saved version 'monday'" in unknown.err


def test_projects_and_labels_are_managed_by_name_or_id(db_url, tmp_path, opened, call):
    store = opened()
    project = store.create_project("Kettles", ["good", "bad", "awful"])
    store.add_items(project.id, ["a", "b"])
    store.people.add("ann")
    item = store.next_item(project.id, "ann")
    store.submit(project.id, item.id, "ann", "awful")
    for argv, said in (
        (["project", "rename", str(project.id), "Kettles 2"], "now named 'Kettles 2'"),  # an id
        (["label", "merge", "--project", "Kettles 2", "awful", "bad"], "merged 'awful' into 'bad' (1 labels"),
        (["label", "rename", "--project", str(project.id), "bad", "poor"], "renamed 'bad' to 'poor'"),
        (["project", "assign", "Kettles 2", "ann"], "ann"),
        (["project", "unassign", "Kettles 2", "ann"], "every labeller may label"),
        (["project", "archive", "Kettles 2"], "archived 'Kettles 2'"),
        (["status"], "Kettles 2 (archived)"),
        (["project", "restore", "Kettles 2"], "restored"),
    ):
        done = call(argv, db_url, tmp_path)
        assert done.code == 0 and said in done.out, (argv, done)
    assert store.export(project.id)["label"].dropna().tolist() == ["poor"]
    assert [c.kind for c in store.manage.label_history(project.id)] == ["merge", "rename"]
    refused = call(["project", "delete", "Kettles 2"], db_url, tmp_path)
    assert refused.code == 1 and "2 items and 1 labels" in refused.err and "--yes" in refused.err
    assert call(["label", "rename", "--project", "Kettles 2", "nope", "x"], db_url, tmp_path).code == 1
    deleted = run("project", "delete", "Kettles 2", "--yes", cwd=tmp_path, db=db_url)
    assert deleted.returncode == 0 and "deleted 'Kettles 2'" in deleted.stdout, deleted.stderr
    assert store.projects() == []
    assert_refused(run("project", "archive", "Kettles 2", cwd=tmp_path, db=db_url), "no project 'Kettles 2'")
