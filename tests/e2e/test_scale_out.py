"""Scale-out: two app server processes and one worker process on one PostgreSQL, labellers in the browser.

The hosted shape of docs/hosting.md, natively: `streamlit run` twice on different ports (what a load balancer
with sticky sessions spreads people over) and `python -m labelling worker`, all on one database schema.
Four invited labellers, two on each server, label at the same time, each reading the review on screen and
clicking its true label:

- no item is ever on two labellers' screens, and every label lands once, under the right name;
- "Retrain now" pressed on server A reorders the queue that server B hands out from;
- server A is killed (SIGKILL) while its two labellers hold an item each: the items come back once their
  lease runs out, the labellers on B are told so and finish them, and nothing is lost.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from _browser import FIRST_LOAD_MS, REPO, STEP_MS, Labeller, click, click_label, moved_on, open_labeller, ready, running_app, settle
from labelling import Store
from labelling.storage.engine import clock
from labelling.storage.schema import labellers, tasks
from labelling.people import IMPORT_NAME

pytestmark = pytest.mark.e2e

LABELS = ["positive", "negative"]
POSITIVE = ["great", "lovely", "superb", "excellent", "fine", "sweet"]
NEGATIVE = ["awful", "broken", "terrible", "poor", "dull", "sour"]
MIXES = [(3, 0), (0, 3), (2, 1), (1, 2), (3, 1), (1, 3)]
"""(positive words, negative words) per review: clear ones and mixed ones the model is less sure of."""
SEEDED, OPEN = 12, 36
"""Reviews imported with a label (the worker's first model) and reviews to label."""
ROUNDS = 3
LEASE_SECONDS = 3600
"""Longer than any wait of the test on a loaded machine (a retrain, a round of clicks): a lease that ran out
meanwhile would hand an idle labeller's item on, by design. The dead server's leases are run out in the
database instead (`run_out_leases`)."""
TRAIN_SECONDS = 600  # a deadline only a hang reaches: training is seconds, but the machine may be loaded
ADMIN_PASSWORD = "scale-out-admin"


def review(rng: random.Random, number: int, positive: int, negative: int) -> str:
    words = rng.sample(POSITIVE, positive) + rng.sample(NEGATIVE, negative)
    rng.shuffle(words)
    return f"review {number:02d}: {' '.join(words)}"


def true_label(text: str) -> int:
    """What a careful labeller reads off the screen: the index of the review's label."""
    words = text.split(":", 1)[1].split()
    return 0 if sum(w in POSITIVE for w in words) > sum(w in NEGATIVE for w in words) else 1


def wait_for(condition: Callable[[], bool], what: str, seconds: float) -> None:
    give_up = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > give_up:
            pytest.fail(f"timed out after {seconds:g} s waiting for {what}")
        time.sleep(0.2)  # polling the database for the condition


def next_in_line(store: Store, project_id: int) -> int:
    """The item the queue hands out next: open, nobody's live lease, in the claim index's order."""
    query = (
        sa.select(tasks.c.item_id)
        .where(tasks.c.project_id == project_id, ~tasks.c.done)
        .where(sa.or_(tasks.c.lease_expires_at.is_(None), tasks.c.lease_expires_at <= clock()))
        .order_by(tasks.c.started.desc(), tasks.c.priority.desc(), tasks.c.id)
        .limit(1)
    )
    with store.engine.connect() as connection:
        return connection.execute(query).scalar_one()


def run_out_leases(store: Store, project_id: int, names: list[str]) -> int:
    """Move `names`' live leases into the past, as the lease time passing would: their items are free again."""
    holders = sa.select(labellers.c.id).where(labellers.c.name.in_(names))
    with store.engine.begin() as connection:
        return connection.execute(
            sa.update(tasks)
            .where(tasks.c.project_id == project_id, ~tasks.c.done, tasks.c.labeller_id.in_(holders))
            .where(tasks.c.lease_expires_at > clock())
            .values(lease_expires_at=clock() - 1)
        ).rowcount


def text_of(store: Store, project_id: int, item_id: int) -> str:
    items = store.export(project_id)
    return str(items.loc[items["item_id"] == item_id, "data"].item())


class Screens:
    """Which labeller each item was on screen for: an item showing for a second labeller is a double hand-out,
    unless it is one the killed server's labellers held and it came back."""

    def __init__(self, labellers: list[Labeller]) -> None:
        self.owner: dict[str, str] = {}
        self.came_back: set[str] = set()
        for labeller in labellers:
            self.saw(labeller)

    def saw(self, labeller: Labeller) -> None:
        text = labeller.shown
        if text is None:
            return
        owner = self.owner.setdefault(text, labeller.name)
        assert owner == labeller.name or text in self.came_back, f"{text!r} on {owner}'s and {labeller.name}'s screens"

    def label_round(self, labellers: list[Labeller]) -> None:
        """Everyone with an item clicks its true label at once; then each screen is read."""
        started = [(l, click_label(l, true_label(l.shown))) for l in labellers if l.shown is not None]
        for labeller, before in started:
            self.moved(labeller, settle(labeller, before))

    def moved(self, labeller: Labeller, seen: dict) -> None:
        assert not seen["down"], seen
        moved_on(labeller, seen)
        self.saw(labeller)


def test_two_app_servers_and_a_worker_share_one_postgres(postgresql_url, browser, screenshots, tmp_path):
    rng = random.Random(7)
    seeded = [review(rng, i, *((3, 0) if i % 2 == 0 else (0, 3))) for i in range(SEEDED)]
    to_label = [review(rng, i, *MIXES[i % len(MIXES)]) for i in range(SEEDED, SEEDED + OPEN)]
    store = Store.connect(postgresql_url)
    training = {"strategy": "margin", "shuffle_prop": 0.0, "every_labels": 100_000, "every_seconds": 1e9}
    project = store.create_project("Scale-out", LABELS, settings={"display": "text", "training": training})
    store.add_items(project.id, seeded, labels=[LABELS[true_label(t)] for t in seeded])
    store.add_items(project.id, to_label)
    tokens = {name: store.people.add(name)[1] for name in ("alice", "bob", "carol", "dave")}
    lead_token = store.people.add("lead", role="admin")[1]

    env = {
        "DATABASE_URL": postgresql_url,
        "LABELLING_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "LABELLING_LEASE_SECONDS": str(LEASE_SECONDS),
        "OMP_NUM_THREADS": "1",
    }
    worker_log = tmp_path / "worker.log"
    with open(worker_log, "wb") as output:
        worker = subprocess.Popen(
            [sys.executable, "-m", "labelling", "worker"],
            cwd=REPO,
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        # The worker trains the first model from the imported labels: the queue has a model's order.
        def trained(trigger: str) -> bool:
            runs = store.training_runs(project.id)
            return any(r.status == "finished" and r.model and r.trigger == trigger for r in runs)

        wait_for(lambda: trained("labels"), "the worker's first model", TRAIN_SECONDS)
        with (
            running_app(env, tmp_path / "a.log", "--client.showErrorDetails", "full") as server_a,
            running_app(env, tmp_path / "b.log", "--client.showErrorDetails", "full") as server_b,
        ):
            contexts = [browser.new_context(viewport={"width": 1200, "height": 900}) for _ in range(5)]
            try:
                on = {"alice": server_a, "carol": server_a, "bob": server_b, "dave": server_b}
                labellers = [
                    open_labeller(context, name, f"{on[name].url}/?token={tokens[name]}")
                    for context, name in zip(contexts, on)
                ]
                alice, carol, bob, dave = labellers
                screens = Screens(labellers)
                assert len(screens.owner) == 4

                # Four people on two servers label at once: every screen a different review.
                for _ in range(ROUNDS):
                    screens.label_round(labellers)
                assert store.progress(project.id).complete == SEEDED + ROUNDS * len(labellers)

                # "Retrain now" on server A: server B's next hand-out follows the new model's order.
                before = next_in_line(store, project.id)
                lead = contexts[4].new_page()
                lead.goto(f"{server_a.url}/train?token={lead_token}")
                # The server's first Train page imports the learning stack: under a loaded suite, past STEP_MS.
                expect(lead.get_by_role("heading", name="Train")).to_be_visible(timeout=FIRST_LOAD_MS)
                ready(lead)
                lead.get_by_role("button", name="Retrain now").click()
                wait_for(lambda: trained("request"), "the requested retrain", TRAIN_SECONDS)
                after = next_in_line(store, project.id)
                assert after != before, "the retrain did not change the queue's order"
                screens.label_round([bob])
                assert bob.shown == text_of(store, project.id, after)
                bob.page.screenshot(path=str(screenshots / "scale-out-server-b-after-retrain.png"), full_page=True)

                # Server A dies with alice's and carol's items in hand.
                held = {alice.shown, carol.shown}
                assert None not in held
                server_a.process.send_signal(signal.SIGKILL)
                server_a.process.wait(timeout=30)
                screens.came_back |= held

                # bob and dave finish the rest; the held items come back once their leases run out.
                on_b = [bob, dave]
                while store.progress(project.id, per_labeller=False).complete < SEEDED + OPEN:
                    if any(l.shown is not None for l in on_b):
                        screens.label_round(on_b)
                        continue
                    expect(bob.page.get_by_text("with other labellers right now")).to_be_visible(timeout=STEP_MS)
                    bob.page.screenshot(path=str(screenshots / "scale-out-held-by-others.png"), full_page=True)
                    assert run_out_leases(store, project.id, ["alice", "carol"]) == len(held)
                    assert store.progress(project.id, per_labeller=False).in_progress == 0
                    for labeller in on_b:
                        screens.moved(labeller, settle(labeller, click(labeller, ".st-key-check-again button")))
                    assert any(l.shown in held for l in on_b), "the held items did not come back"
            finally:
                for context in contexts:
                    context.close()
            assert "Traceback" not in server_b.log.read_text()

        # Nothing lost, nothing twice, every label the true one under the name of the screen that showed it.
        history = store.annotations(project.id)
        items = store.export(project.id)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        store.close()
    ids = {str(text): int(item_id) for text, item_id in zip(items["data"], items["item_id"])}
    mine = history[history["labeller"] != IMPORT_NAME]
    assert len(mine) == OPEN and mine["item_id"].is_unique and history["current"].all()
    by_item = {int(i): (name, label) for i, name, label in zip(mine["item_id"], mine["labeller"], mine["label"])}
    for labeller in labellers:
        for text in labeller.moved_past:
            assert by_item[ids[text]] == (labeller.name, LABELS[true_label(text)]), text
    assert {by_item[ids[text]][0] for text in held} <= {"bob", "dave"}
    assert "Traceback" not in worker_log.read_text()
