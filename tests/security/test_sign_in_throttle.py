"""Finding 4 of issue 15: 200 wrong admin passwords on one connection in 10 s, then the right one was accepted,
and nothing was logged. Failed passwords and invite tokens are now throttled per client and overall, with a
wait that doubles after each further failure, logged with the client's address, and told plainly."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from labelling import Store
from labelling.throttle import Throttle

APP = Path(__file__).resolve().parents[2] / "streamlit_app.py"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_client_waits_after_its_free_attempts_twice_as_long_each_time(clock):
    throttle = Throttle(free_per_client=3, base_seconds=1, max_seconds=10, clock=clock)
    for _ in range(2):
        throttle.failed("a")
        assert throttle.wait("a") == 0
    waits = []
    for _ in range(6):
        throttle.failed("a")
        waits.append(throttle.wait("a"))
    assert waits == [1, 2, 4, 8, 10, 10]
    assert throttle.wait("b") == 0  # another client is not held back
    clock.now += 10
    assert throttle.wait("a") == 0


def test_failures_are_forgotten_after_a_quiet_while_and_on_success(clock):
    throttle = Throttle(free_per_client=1, forget_seconds=60, clock=clock)
    throttle.failed("a")
    assert throttle.wait("a") == 1
    clock.now += 61
    throttle.failed("a")
    assert throttle.wait("a") == 1  # counted afresh, not 2
    throttle.succeeded("a")
    assert throttle.wait("a") == 0


def test_many_clients_failing_slow_everyone_down(clock):
    throttle = Throttle(free_per_client=100, free_global=10, base_seconds=1, max_global_seconds=5, clock=clock)
    for client in range(12):
        throttle.failed(f"client-{client}")
    assert throttle.wait("someone-new") == 4
    for client in range(5):
        throttle.failed(f"more-{client}")
    assert throttle.wait("someone-new") == 5  # capped: a spread-out attack is slowed, the admin not locked out


def test_counts_are_shared_by_threads_without_losing_any(clock):
    throttle = Throttle(free_per_client=10_000, clock=clock)
    start = threading.Barrier(8)

    def fail() -> None:
        start.wait()
        for _ in range(500):
            throttle.failed("a")

    threads = [threading.Thread(target=fail) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert throttle.failed("a") == 8 * 500 + 1


# The app: one process, so one throttle for every session


@pytest.fixture
def app(tmp_path, monkeypatch, clock):
    """The whole app on a fresh SQLite file, with a fresh throttle on a clock the test moves."""
    import ui.auth

    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.delenv("LABELLING_ADMIN_PASSWORD", raising=False)
    monkeypatch.setattr(ui.auth, "THROTTLE", Throttle(free_per_client=3, clock=clock))
    st.cache_resource.clear()
    store = Store.connect(url)

    def make(token: str | None = None) -> AppTest:
        at = AppTest.from_file(str(APP), default_timeout=60)
        at.secrets["admin_password"] = "s3cret"
        if token is not None:
            at.query_params["token"] = token
        return at

    yield make, store
    store.close()
    st.cache_resource.clear()


def sign_in(at: AppTest, password: str) -> AppTest:
    at.text_input[0].input(password)
    at.button[0].click().run()
    return at


def test_the_right_password_is_refused_while_the_client_waits(app, clock, caplog):
    make, _ = app
    at = make().run()
    with caplog.at_level(logging.WARNING, logger="labelling.sign_in"):
        for _ in range(3):
            sign_in(at, "guess")
    assert [e.value for e in at.error] == ["Wrong password. Too many attempts: try again in 1 s."]
    failures = [r.getMessage() for r in caplog.records]
    assert len(failures) == 3
    assert "failed sign-in (admin password) from localhost: 3 failures" in failures[-1]

    sign_in(at, "s3cret")
    assert [e.value for e in at.error] == ["Too many attempts: try again in 1 s."]
    assert [t.value for t in at.title] == ["Sign in"]

    other = make().run()  # another session of the same client is held back too
    assert [e.value for e in sign_in(other, "s3cret").error] == ["Too many attempts: try again in 1 s."]

    clock.now += 1
    sign_in(at, "s3cret")
    assert not at.error and at.title[0].value != "Sign in"


def test_wrong_invite_tokens_are_throttled_and_logged(app, caplog):
    make, store = app
    _, token = store.people.add("alice")
    with caplog.at_level(logging.WARNING, logger="labelling.sign_in"):
        for guess in range(3):
            at = make(token=f"guess-{guess}").run()
            assert [t.value for t in at.title] == ["Invite link not valid"]
    assert "Too many attempts: try again in 1 s." in at.error[0].value
    assert ["failed sign-in (invite token) from localhost" in r.getMessage() for r in caplog.records] == [True] * 3

    at = make(token=token).run()  # even a real token waits: guesses must not be checked meanwhile
    assert [t.value for t in at.title] == ["Invite link not checked"]
    assert [e.value for e in at.error] == ["Too many attempts: try again in 1 s."]
