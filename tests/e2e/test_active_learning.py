"""Active learning in the browser: the admin makes the digits demo, labels digits with the keyboard, asks
for a retrain; the app's own embedded worker trains; the Train page shows the score, the learning curve
and the figures, and the Label page shows the model's suggestion. Screenshots go to artifacts/screenshots/.

The tests run in file order and build on each other (one server, one story).
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Page, expect
from sklearn.datasets import load_digits

from _browser import STEP_MS, go, ready, shot
from labelling import Store

pytestmark = pytest.mark.e2e

TRAIN_MS = 120_000
"""The worker starts with the first browser session, imports scikit-learn, polls every 2 s, then trains."""
FIRST_BATCH, SECOND_BATCH = 20, 10
DIGITS = load_digits().target


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
        page.keyboard.press(str(DIGITS[item.data["index"]]))
        wait_for(lambda: len(store.annotations(project_id)) == done + 1, "the label to be recorded")


def test_admin_makes_the_digits_demo_and_labels_some_digits(admin, server, store, screenshots):
    admin.goto(server.url)
    admin.get_by_label("Admin password").fill(server.admin_password)
    admin.get_by_role("button", name="Sign in as admin").click()
    expect(admin.get_by_role("heading", name="Setup")).to_be_visible(timeout=STEP_MS)
    ready(admin)
    admin.get_by_role("button", name="Handwritten digits (images)").click()
    expect(admin.get_by_text("Created")).to_be_visible(timeout=STEP_MS)
    (project,) = store.projects()
    go(admin, "Label")
    label_digits(admin, store, project.id, FIRST_BATCH)
    labels = store.annotations(project.id)
    assert len(labels) == FIRST_BATCH and set(labels["labeller"]) == {"admin"}


def test_retrain_now_trains_and_the_train_page_shows_score_and_learning_curve(admin, store, screenshots):
    (project,) = store.projects()
    go(admin, "Train")
    admin.get_by_role("button", name="Retrain now").click()
    expect(admin.get_by_text("Trained on")).to_be_visible(timeout=TRAIN_MS)
    ready(admin)
    trained = [r for r in store.training_runs(project.id) if r.status == "finished" and r.model]
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
    points = {r.n_labels for r in store.training_runs(project.id) if r.status == "finished" and r.scores}
    assert {FIRST_BATCH, FIRST_BATCH + SECOND_BATCH} <= points
    shot(admin, screenshots, "admin-train")


def test_the_label_page_shows_the_models_suggestion(admin, store, screenshots):
    (project,) = store.projects()
    go(admin, "Label")
    suggestion = admin.get_by_text("The model suggests")
    expect(suggestion).to_be_visible(timeout=STEP_MS)
    item = store.next_item(project.id, "admin")
    predicted = store.prediction(project.id, item.id)
    expect(suggestion).to_contain_text(f"{predicted.label} ({predicted.probability:.0%} sure)")
    shot(admin, screenshots, "admin-label-suggestion")
