"""What a training run stores to say how far its model can be trusted (`labelling.learning.assessment`), on
SQLite and PostgreSQL: the honest score on random picks with its interval and count, the calibration error
and temperature (kept with the model), the stop set's kappa between runs, and the likely label errors the
Review page lists."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from _helpers import new_project
from labelling.learning import assessment
from labelling.learning.model_files import load_model
from labelling.learning.training import train

SEED = 3
PIXELS = [f"p{i}" for i in range(64)]


@pytest.fixture(autouse=True)
def model_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("LABELLING_MODEL_DIR", str(tmp_path / "models"))


def digits_project(store, n, labelled=0, flip=0.0, seed=SEED):
    """`n` digits as 64 pixel columns; the first `labelled` come with imported labels, a `flip` share of
    them replaced by another digit at random. Returns the project and the flipped item ids."""
    digits = load_digits()
    rng = np.random.default_rng(seed)
    rows = rng.permutation(len(digits.target))[:n]
    data = [{**{p: float(v) for p, v in zip(PIXELS, digits.data[r])}, "truth": str(digits.target[r])} for r in rows]
    project = new_project(
        store, labels=[str(d) for d in range(10)], settings={"display": "table", "feature_columns": PIXELS}
    )
    given = [d["truth"] for d in data[:labelled]]
    flipped = rng.choice(labelled, size=round(flip * labelled), replace=False) if labelled else []
    for row in flipped:
        given[row] = str((int(given[row]) + rng.integers(1, 10)) % 10)
    if labelled:
        store.add_items(project.id, data[:labelled], labels=given)
    store.add_items(project.id, data[labelled:])
    ids = [int(i) for i in store.export(project.id)["item_id"]]
    return project, {ids[row] for row in flipped}


def label(store, project_id, n, labeller="alice"):
    """Label the next `n` items of the queue; returns their ids."""
    done = []
    for _ in range(n):
        item = store.next_item(project_id, labeller)
        store.submit(project_id, item.id, labeller, item.data["truth"])
        done.append(item.id)
    return done


def sampled(item_ids):
    """How many items labelled in a wholly random order join the evaluation sample (a fixed coin each)."""
    return sum(assessment.evaluation_coin(i) < assessment.EVALUATION_SHARE for i in item_ids)


def test_runs_store_the_honest_score_calibration_stability_and_label_issues(store):
    project, _ = digits_project(store, 400)
    cold = train(store, project.id, seed=SEED, shuffle_prop=0.3)  # no labels: the queue in random order
    assert cold.model is None and cold.honest_n is None
    cold_start = label(store, project.id, 40)
    first = train(store, project.id, seed=SEED, shuffle_prop=0.3)
    # Of the 40 items labelled in the cold-start random order, a fixed tenth is the honest score's first sample.
    assert first.honest_n == sampled(cold_start) > 0
    assert first.progressive_n == 0 and first.progressive_accuracy is None
    assert first.honest_low <= first.honest_accuracy <= first.honest_high
    assert 0 < first.honest_low and first.honest_high <= 1
    assert first.stability_kappa is None  # nothing to compare with yet
    assert 0 <= first.ece <= 1 and 0 <= first.ece_uncalibrated <= 1 and first.temperature > 0
    assert load_model(store, project.id).temperature == pytest.approx(first.temperature)

    label(store, project.id, 40)
    second = train(store, project.id, seed=SEED, shuffle_prop=0.3)
    picked = second.honest_n - first.honest_n
    assert 0 < picked < 40  # some of the 40 came from the random share (all held out), the rest from the model's order
    assert second.progressive_n == picked  # each has the suggestion it was handed out with
    assert 0 <= second.progressive_low <= second.progressive_accuracy <= second.progressive_high <= 1
    assert -1 <= second.stability_kappa <= 1

    suggestion = store.model_data.prediction(project.id, store.next_item(project.id, "bob").id)
    assert suggestion.run_id == second.id and 0 < suggestion.probability <= 1
    checks = store.assessment.labels_to_check(project.id)
    assert all(c.run_id == second.id and c.alternative != c.given for c in checks)
    assert all(c.alternative_probability > c.given_probability for c in checks)


def test_label_issues_find_flipped_labels_and_close_once_a_reviewer_decides(store):
    project, flipped = digits_project(store, 400, labelled=300, flip=0.1)
    run = train(store, project.id, seed=SEED)
    assert run.honest_n == 0 and run.honest_accuracy is None  # imported labels were not chosen at random
    checks = store.assessment.labels_to_check(project.id, limit=1000)
    found = {c.item_id for c in checks}
    assert len(found) >= 10
    assert len(found & flipped) / len(found) >= 0.8  # precision among the flagged labels
    first = checks[0]
    store.adjudicate(project.id, first.item_id, "admin", first.given)  # accept the label as it is
    assert first.item_id not in {c.item_id for c in store.assessment.labels_to_check(project.id, limit=1000)}


def test_with_the_random_strategy_every_label_tests_the_model(store):
    project, _ = digits_project(store, 300)
    train(store, project.id, seed=SEED)  # cold start: random order
    done = label(store, project.id, 30)
    train(store, project.id, seed=SEED, strategy="random", shuffle_prop=0.0)
    done += label(store, project.id, 20)  # placed by a random order, though none by a random share
    after = train(store, project.id, seed=SEED, strategy="random", shuffle_prop=0.0)
    # Every label could test the model; a fixed tenth does, so that the rest trains it.
    assert after.honest_n == sampled(done) > 0
