"""Active learning in the browser: the admin makes the digits demo, labels digits with the keyboard, asks
for a retrain; the app's own embedded worker trains; the Train page shows the score, the learning curve
and the figures, and the Label page shows the model's suggestion. Screenshots go to artifacts/screenshots/.

Each test has an app, a database and a browser tab of its own and sets up what it starts from through the
library, so the tests pass alone and in any order. The app's worker runs at full speed.
"""

from __future__ import annotations

import re

import time

import pytest
from playwright.sync_api import Page, expect
from sklearn.datasets import load_digits

from _browser import STEP_MS, go, press, ready, running_app, shot, sign_in_as_admin
from conftest import ADMIN_PASSWORD, Server
from labelling import Store
from labelling.setup.demo import create_digits_demo
from labelling.storage.runs import RunStatus

pytestmark = pytest.mark.e2e

TRAIN_MS = 600_000
"""The worker starts with the first browser session, imports scikit-learn, polls every 2 s, then trains: a
deadline only a hang reaches, never a slow (loaded) machine."""
FULL_SPEED = {"LABELLING_WORKER_NICENESS": "0", "LABELLING_WORKER_DUTY_CYCLE": "1"}
FIRST_BATCH, SECOND_BATCH = 20, 10
DIGITS = load_digits().target


# Each test its own app (these override the module-wide fixtures of conftest.py).


@pytest.fixture
def server(tmp_path):
    database_url = f"sqlite:///{tmp_path / 'labelling.db'}"
    env = {"DATABASE_URL": database_url, "LABELLING_ADMIN_PASSWORD": ADMIN_PASSWORD, **FULL_SPEED}
    with running_app(env, tmp_path / "streamlit.log") as app:
        yield Server(app.url, database_url)


@pytest.fixture
def store(server):
    store = Store.connect(server.database_url)
    yield store
    store.close()


@pytest.fixture
def admin(browser, server):
    """The admin's tab, signed in."""
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    page = context.new_page()
    sign_in_as_admin(page, server.url, server.admin_password)
    yield page
    context.close()


def labelled_digits(store: Store, count: int) -> int:
    """The digits demo with its first `count` queue items labelled by the admin, correctly; its id."""
    project = create_digits_demo(store)
    for _ in range(count):
        item = store.next_item(project.id, "admin")
        store.submit(project.id, item.id, "admin", str(DIGITS[item.data["index"]]))
    return project.id


def wait_for(condition, what: str, seconds: float = STEP_MS / 1000) -> None:
    give_up = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > give_up:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def label_digits(page: Page, store: Store, project_id: int, count: int) -> None:
    """Press the right digit key for the digit on screen, `count` times. The store's next_item for the
    same labeller returns the item the page holds (a lease refresh), so the test knows its true digit."""
    for _ in range(count):
        ready(page)
        expect(page.locator(".st-key-item img")).to_be_visible(timeout=STEP_MS)
        item = store.next_item(project_id, "admin")
        done = len(store.annotations(project_id))
        press(page, str(DIGITS[item.data["index"]]))
        wait_for(lambda: len(store.annotations(project_id)) == done + 1, "the label to be recorded")


def test_admin_makes_the_digits_demo_and_labels_some_digits(admin, store, screenshots):
    expect(admin.get_by_role("heading", name="Setup")).to_be_visible(timeout=STEP_MS)
    admin.get_by_role("button", name="Handwritten digits (images)").click()
    expect(admin.get_by_text("Created")).to_be_visible(timeout=STEP_MS)
    (project,) = store.projects()
    go(admin, "Label")
    label_digits(admin, store, project.id, FIRST_BATCH)
    labels = store.annotations(project.id)
    assert len(labels) == FIRST_BATCH and set(labels["labeller"]) == {"admin"}


def test_the_sidebar_picker_shows_a_demo_project_once_made(admin, store):
    """The Setup tabs act on the project the picker names: a new demo must be the one it names, not the one
    the browser showed before (it kept sending that choice back)."""
    for name in ("Alpha", "Beta"):
        store.add_items(store.create_project(name, ["a", "b"]).id, ["x"])
    go(admin, "Projects")  # a run that reads the projects made meanwhile
    expect(admin.get_by_role("heading", name="Projects", level=1)).to_be_visible(timeout=STEP_MS)
    go(admin, "Setup")
    expect(admin.get_by_role("heading", name="Setup", level=1)).to_be_visible(timeout=STEP_MS)
    ready(admin)
    picker = admin.get_by_role("combobox", name="Project")
    expect(picker).to_have_value(re.compile("^(Alpha|Beta)$"), timeout=STEP_MS)  # whichever the session took
    other = "Alpha" if picker.input_value() == "Beta" else "Beta"  # a choice made in the browser
    admin.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").click()
    admin.get_by_role("option", name=other).click()
    expect(picker).to_have_value(other, timeout=STEP_MS)
    ready(admin)
    admin.get_by_text("Demo projects").click()
    admin.get_by_role("button", name="Product reviews (text)").click()
    expect(admin.get_by_text("Created")).to_be_visible(timeout=STEP_MS)
    expect(picker).to_have_value("Product reviews (demo)", timeout=STEP_MS)


def test_retrain_now_trains_and_the_train_page_shows_score_and_learning_curve(store, admin, screenshots):
    project = store.project(labelled_digits(store, FIRST_BATCH))
    go(admin, "Train")
    admin.get_by_role("button", name="Retrain now").click()
    expect(admin.get_by_text(re.compile(r"^Trained on \d"))).to_be_visible(timeout=TRAIN_MS)
    ready(admin)
    trained = [r for r in store.training_runs(project.id) if r.status == RunStatus.FINISHED and r.model]
    assert trained and trained[-1].n_labels == FIRST_BATCH
    expect(admin.get_by_text("cross-validated accuracy")).to_be_visible()
    expect(admin.get_by_text(f"{trained[-1].scores['cv_accuracy']:.1%}")).to_be_visible()
    shot(admin, screenshots, "admin-train-first-run")

    go(admin, "Label")  # more labels, another retrain: a second point on the learning curve
    label_digits(admin, store, project.id, SECOND_BATCH)
    go(admin, "Train")
    admin.get_by_role("button", name="Retrain now").click()
    expect(admin.get_by_text(f"Trained on {FIRST_BATCH + SECOND_BATCH} labels")).to_be_visible(timeout=TRAIN_MS)
    ready(admin)
    curve = admin.locator("[data-testid='stVegaLiteChart']")
    expect(curve.locator("svg.marks")).to_have_count(1, timeout=STEP_MS)
    expect(admin.get_by_text("Confusion matrix")).to_be_visible()
    points = {r.n_labels for r in store.training_runs(project.id) if r.status == RunStatus.FINISHED and r.scores}
    assert {FIRST_BATCH, FIRST_BATCH + SECOND_BATCH} <= points
    shot(admin, screenshots, "admin-train")


def test_the_label_page_shows_the_models_suggestion(store, admin, screenshots):
    project = store.project(labelled_digits(store, FIRST_BATCH))  # a schedule's worth: the app's worker trains
    wait_for(
        lambda: any(r.status == RunStatus.FINISHED and r.model for r in store.training_runs(project.id)),
        "the worker to train",
        TRAIN_MS / 1000,
    )
    go(admin, "Label")
    suggestion = admin.get_by_text("The model suggests")
    expect(suggestion).to_be_visible(timeout=STEP_MS)
    item = store.next_item(project.id, "admin")
    predicted = store.model_data.prediction(project.id, item.id)
    expect(suggestion).to_contain_text(f"{predicted.label} ({predicted.probability:.0%} sure)")
    shot(admin, screenshots, "admin-label-suggestion")
