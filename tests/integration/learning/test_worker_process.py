"""`python -m labelling.learning.worker` as real processes, on SQLite and PostgreSQL: killed mid-run, two at once, a
model that raises, the database going away and coming back while it sleeps, and the app's embedded
worker ending with the app. Every wait is for a condition (a file, a log line, a row, a process exit).

The models given with `--model` live in this module (the worker imports it by name).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from sklearn.linear_model import LogisticRegression

from _helpers import drain, new_project, wait_for_db_clock
from labelling import Store
from labelling.storage.engine import read
from labelling.storage.schema import tasks, trainer_leases
from labelling.learning.training import train

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
DEADLINE_SECONDS = float(os.environ.get("WORKER_TEST_DEADLINE_SECONDS", 900))
"""How long a wait for a condition may take before the test fails: only a hang should reach it, never a slow
(loaded) machine."""
FULL_SPEED = {"LABELLING_WORKER_NICENESS": "0", "LABELLING_WORKER_DUTY_CYCLE": "1"}
MARKER_ENV = "WORKER_TEST_MARKER"
GATE_ENV = "WORKER_TEST_GATE"


# Models the worker is started with (`--model test_worker_process:<name>`)


class _Numbers(LogisticRegression):
    """Your own estimator: it learns from columns x and y of the items."""

    def preprocess(self, x, y):
        return x[["x", "y"]].to_numpy(), y


def gated_model() -> _Numbers:
    """Notes its process id in $WORKER_TEST_MARKER when it starts fitting, then waits for $WORKER_TEST_GATE."""

    class Gated(_Numbers):
        def fit(self, x, y):
            with open(os.environ[MARKER_ENV], "a") as marker:
                marker.write(f"{os.getpid()}\n")
            while not Path(os.environ[GATE_ENV]).exists():
                time.sleep(0.05)
            return super().fit(x, y)

    return Gated()


def failing_model() -> _Numbers:
    class Failing(_Numbers):
        def fit(self, x, y):
            raise RuntimeError("boom in fit")

    return Failing()


# Harness


class Worker:
    def __init__(self, url: str, args: list[str], log: Path, env: dict[str, str]):
        self.log_path = log
        self.process = subprocess.Popen(
            [sys.executable, "-m", "labelling.learning.worker", "--database-url", url, "--log-level", "INFO", *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(log, "wb"),
        )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for_log(self, text: str) -> None:
        until(lambda: text in self.log() or self.process.poll() is not None, f"worker log line {text!r}")
        assert text in self.log(), self.log()

    def wait(self) -> int:
        try:
            return self.process.wait(timeout=DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the worker did not exit:\n{self.log()}")


def until(condition, what: str) -> None:
    """Poll a condition (never a fixed sleep before an assert)."""
    give_up = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        if time.monotonic() > give_up:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(autouse=True)
def model_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LABELLING_MODEL_DIR", str(tmp_path / "models"))


@pytest.fixture
def start_worker(tmp_path):
    started: list[Worker] = []
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(HERE), str(HERE.parent)]),  # HERE.parent: _helpers
        "OMP_NUM_THREADS": "1",
        **FULL_SPEED,
        "LABELLING_MODEL_DIR": str(tmp_path / "models"),
        MARKER_ENV: str(tmp_path / "fitting"),
        GATE_ENV: str(tmp_path / "go"),
    }

    def start(url: str, *args: str) -> Worker:
        worker = Worker(url, list(args), tmp_path / f"worker-{len(started)}.log", env)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.process.kill()
            worker.process.wait()


def number_project(store, n=40, labelled=16):
    rng = np.random.default_rng(3)
    rows = [{"x": rng.normal(3.0 * (i % 2)), "y": rng.normal(-2.0 * (i % 2)), "truth": "ab"[i % 2]} for i in range(n)]
    project = new_project(store, labels=("a", "b"), settings={"display": "table", "feature_columns": ["x", "y"]})
    store.add_items(project.id, rows, labels=[r["truth"] if i < labelled else None for i, r in enumerate(rows)])
    return project


def priorities(store, project_id) -> dict[int, float]:
    with read(store.engine) as connection:
        rows = connection.execute(
            sa.select(tasks.c.item_id, tasks.c.priority).where(tasks.c.project_id == project_id, ~tasks.c.done)
        )
        return {int(i): float(p) for i, p in rows}


def lease_expiry(store, project_id) -> float:
    with read(store.engine) as connection:
        return connection.execute(
            sa.select(trainer_leases.c.expires_at).where(trainer_leases.c.project_id == project_id)
        ).scalar_one()


def marked_pids(tmp_path) -> list[str]:
    marker = tmp_path / "fitting"
    return marker.read_text().split() if marker.exists() else []


def test_a_worker_killed_mid_run_loses_nothing_and_the_next_run_proceeds(db_url, store, start_worker, tmp_path):
    project = number_project(store)
    store.request_training(project.id)
    order = priorities(store, project.id)
    first = start_worker(db_url, "--once", "--lease-seconds", "2", "--model", "test_worker_process:gated_model")
    until(lambda: marked_pids(tmp_path), "the first worker to start fitting")
    assert store.training_runs(project.id)[-1].status == "running"
    for _ in range(3):  # people keep labelling while it trains
        item = store.next_item(project.id, "bob")
        store.submit(project.id, item.id, "bob", "a")

    first.process.kill()
    first.wait()

    assert store.training_runs(project.id)[-1].status == "running"  # nobody marked it: the worker died
    assert priorities(store, project.id) == {i: p for i, p in order.items() if i in priorities(store, project.id)}
    wait_for_db_clock(store, lease_expiry(store, project.id))  # the dead worker's lease runs out
    second = start_worker(db_url, "--once", "--lease-seconds", "2")
    assert second.wait() == 0, second.log()

    dead, retried = store.training_runs(project.id)
    assert (dead.status, dead.error) == ("failed", "the process training it stopped before finishing")
    assert (retried.status, retried.trigger, retried.n_labels) == ("finished", "retry", 19)
    labels = store.annotations(project.id)
    assert len(labels) == 19 and labels["labeller"].tolist().count("bob") == 3
    open_items = set(priorities(store, project.id))
    assert sorted(drain(store, project.id, "carol")) == sorted(open_items)  # every open item, once


def test_two_workers_started_at_once_train_once(db_url, store, start_worker, tmp_path):
    project = number_project(store)
    store.request_training(project.id)
    model = ("--model", "test_worker_process:gated_model")
    workers = [start_worker(db_url, "--once", *model) for _ in range(2)]
    until(lambda: marked_pids(tmp_path), "one worker to start fitting")
    # The other one finds the project taken (or already trained) and leaves.
    until(lambda: any(w.process.poll() is not None for w in workers), "the other worker to leave")
    (tmp_path / "go").touch()
    assert [w.wait() for w in workers] == [0, 0]

    (run,) = store.training_runs(project.id)
    assert (run.status, run.trigger) == ("finished", "request")
    assert len(set(marked_pids(tmp_path))) == 1  # one process fitted (cross-validation folds and the final fit)


def test_a_model_that_raises_is_a_failed_run_and_the_worker_carries_on(db_url, store, start_worker):
    project = number_project(store)
    store.request_training(project.id)
    order = priorities(store, project.id)
    worker = start_worker(db_url, "--once", "--model", "test_worker_process:failing_model")
    assert worker.wait() == 0, worker.log()
    (run,) = store.training_runs(project.id)
    assert (run.status, run.error) == ("failed", "RuntimeError: boom in fit")
    assert priorities(store, project.id) == order
    assert "training failed: boom in fit" in worker.log()


def test_a_model_that_cannot_be_made_stops_the_worker_with_the_reason(db_url, store, start_worker):
    project = number_project(store)
    store.request_training(project.id)
    worker = start_worker(db_url, "--once", "--model", "test_worker_process:no_such_factory")
    assert worker.wait() == 1
    assert "the model test_worker_process:no_such_factory cannot be loaded: AttributeError" in worker.log()
    assert store.training_runs(project.id)[-1].status == "queued"  # nothing ran


def test_the_worker_trains_on_its_schedule(db_url, store, start_worker):
    project = number_project(store, labelled=12)
    worker = start_worker(db_url, "--every-labels", "12", "--every-seconds", "3600", "--poll-seconds", "0.2", "--max-runs", "2")
    until(lambda: store.training_runs(project.id) and store.training_runs(project.id)[0].status == "finished", "a first run")
    for i in range(12):
        item = store.next_item(project.id, "alice")
        store.submit(project.id, item.id, "alice", "ab"[i % 2])
    assert worker.wait() == 0, worker.log()
    first, second = store.training_runs(project.id)
    assert (first.trigger, first.n_labels) == ("labels", 12)  # the labels it found at the start
    assert (second.trigger, second.n_labels) == ("labels", 24)  # 12 new labels: due again


def test_on_postgres_a_submitted_label_wakes_a_worker_that_seldom_polls(postgresql_url, start_worker):
    """The worker LISTENs: new labels wake it, so it trains long before its next poll would come."""
    store = Store.connect(postgresql_url)
    try:
        project = number_project(store, labelled=12)
        seldom = str(10 * DEADLINE_SECONDS)  # a poll would come long after the test gave up waiting
        worker = start_worker(postgresql_url, "--every-labels", "12", "--every-seconds", seldom, "--poll-seconds", seldom, "--max-runs", "2")
        until(lambda: [r.status for r in store.training_runs(project.id)] == ["finished"], "a first run")
        for i in range(12):
            item = store.next_item(project.id, "alice")
            store.submit(project.id, item.id, "alice", "ab"[i % 2])
        assert worker.wait() == 0, worker.log()
        assert "listening for notifications" in worker.log()
        first, second = store.training_runs(project.id)
        assert (second.trigger, second.status, second.n_labels) == ("labels", "finished", 24)
    finally:
        store.close()


class Proxy:
    """A TCP relay to PostgreSQL that can be shut (the server is "away") and opened again on its port."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.listener: socket.socket | None = None

    def open(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen()
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.target)
            self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def shut(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() so the port is really freed
        except OSError:
            pass
        self.listener.close()
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.sockets.clear()


def request_and_expect_it_run_once_the_database_is_back(store, project_id: int, worker) -> None:
    """Request a training run of the worker that lost its database while sleeping: it trains on the request,
    says the database is back, and exits cleanly after its one run."""
    store.request_training(project_id)
    assert worker.wait() == 0, worker.log()
    assert "database is back" in worker.log()
    assert [(r.trigger, r.status) for r in store.training_runs(project_id)] == [("script", "finished"), ("request", "finished")]


def test_postgres_going_away_and_coming_back_while_the_worker_sleeps(postgresql_url, start_worker):
    url = sa.engine.make_url(postgresql_url)
    proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.open()
    through_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    store = Store.connect(postgresql_url)
    try:
        project = number_project(store)
        train(store, project.id)  # nothing is due: the worker sleeps
        worker = start_worker(through_proxy, "--poll-seconds", "0.2", "--max-runs", "1")
        worker.wait_for_log("started")
        proxy.shut()
        worker.wait_for_log("database unavailable")
        proxy.open()
        request_and_expect_it_run_once_the_database_is_back(store, project.id, worker)
    finally:
        store.close()
        proxy.shut()


def test_sqlite_file_going_away_and_coming_back_while_the_worker_sleeps(sqlite_url, start_worker, tmp_path):
    store = Store.connect(sqlite_url)
    project = number_project(store)
    train(store, project.id)  # nothing is due: the worker sleeps
    store.close()
    worker = start_worker(sqlite_url, "--poll-seconds", "0.2", "--max-runs", "1")
    worker.wait_for_log("started")
    database = Path(sa.engine.make_url(sqlite_url).database)
    away = tmp_path / "away"
    away.mkdir()
    moved = [p for p in database.parent.glob(database.name + "*")]
    for path in moved:
        shutil.move(path, away / path.name)
    worker.wait_for_log("database unavailable (the database file")
    for path in moved:
        shutil.move(away / path.name, path)
    store = Store.connect(sqlite_url)
    try:
        request_and_expect_it_run_once_the_database_is_back(store, project.id, worker)
    finally:
        store.close()


def _gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status  # exited, waiting for its (new) parent to reap it


def test_the_embedded_worker_ends_with_the_app(sqlite_url, tmp_path):
    Store.connect(sqlite_url).close()
    app = (
        "import sys\n"
        "from labelling.learning.worker import spawn_embedded\n"
        f"print(spawn_embedded({sqlite_url!r}).pid, flush=True)\n"
        "sys.stdin.read()\n"  # the app lives until the test closes its stdin
    )
    log = tmp_path / "app.log"
    env = {**os.environ, "PYTHONPATH": str(REPO), "LABELLING_MODEL_DIR": str(tmp_path / "models")}
    parent = subprocess.Popen(
        [sys.executable, "-c", app], cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=open(log, "wb")
    )
    pid = int(parent.stdout.readline())
    try:
        until(lambda: "worker" in log.read_text() and "started" in log.read_text(), "the embedded worker to start")
        assert not _gone(pid)
        parent.stdin.close()
        parent.wait(timeout=DEADLINE_SECONDS)
        until(lambda: _gone(pid), "the embedded worker to exit after the app")
    finally:
        if not _gone(pid):
            os.kill(pid, 9)


@pytest.mark.parametrize("command", [["labelling.learning.worker"], ["labelling", "worker"]], ids=" ".join)
def test_started_in_the_apps_folder_the_worker_uses_the_apps_database(tmp_path, command):
    """Both ways of starting the worker read the app's .streamlit/secrets.toml, first, as the app does."""
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "secrets.toml").write_text(f'database_url = "sqlite:///{tmp_path / "secrets.db"}"\n')
    env = {**os.environ, "PYTHONPATH": str(REPO), "DATABASE_URL": f"sqlite:///{tmp_path / 'environment.db'}"}
    result = subprocess.run(
        [sys.executable, "-m", *command, "--once"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=DEADLINE_SECONDS,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "secrets.db").is_file()
    assert not (tmp_path / "environment.db").exists()
