"""Active learning against random sampling, through the project's own code (not a copy of it).

    OMP_NUM_THREADS=1 python benchmarks/active_learning.py            # digits and movie reviews, 5 seeds
    python benchmarks/active_learning.py --quick                      # 2 seeds, up to 100 labels

Tasks (benchmarks/_al_tasks.py): sklearn's digits (pixels), and 4,866 fresh/rotten movie-review snippets
shipped in benchmarks/data (read as TF-IDF, and as all-MiniLM-L6-v2 sentence embeddings, encoded once per
run); breast_cancer on request. For each task and seed: a 30% stratified hold-out is set aside; the rest
(the pool) becomes a project in a `Store` on a temporary SQLite file, with 20 random items imported as
labelled. Then, until `--max-labels`: `labelling.learning.training.train` fits the project's model
(cross-validated, as the worker does) and reorders the queue with the strategy under test (the
project's settings, shuffle_prop included); the saved model (`model_files.load_model`) is scored on the
hold-out; an oracle labeller takes the next 10 items with `Store.next_item` / `Store.submit`, in queue
order. "Full" is the same model trained on the whole labelled pool.

Prints, per task, for random / margin / the default strategy: hold-out accuracy (mean over seeds) at
the checkpoints, the labels the mean curve needs to reach 95% of full-pool accuracy, the area under the
learning curve (its mean accuracy from 20 labels to the last), and where the stopping rule fires; then
the score the Train page shows (3-fold CV on the chosen labels, and the honest estimate with its interval
and number of items) against the hold-out, the calibration error of the "X% sure" the Label page shows
for the open items, and the precision of the "labels to check" with 10% of the pool's labels flipped.
Figures whose feature is not on this branch print "n/a — not on this branch".
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy: one BLAS thread is several times faster here

import numpy as np  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import _al_tasks as hooks  # noqa: E402
from _al_tasks import NA, Task  # noqa: E402
from labelling import Store  # noqa: E402
from labelling.io.serialisation import decode  # noqa: E402
from labelling.learning import model_files, stopping, training  # noqa: E402
from labelling.learning.strategies import DEFAULT_STRATEGY  # noqa: E402
from labelling.learning.training_settings import TrainingSettings  # noqa: E402
from labelling.storage.runs import TrainingRun  # noqa: E402

CHECKPOINTS = (50, 100, 200, 400)
QUICK_CHECKPOINTS = (50, 100)
SHOWN_AT = (100, 200)
"""Where the shown score and the calibration are compared with the hold-out (the issue's targets)."""
INITIAL_LABELS = 20
BATCH = 10
HOLD_OUT = 0.3
TARGET = 0.95
FLIPPED = 0.1
ECE_BINS = 15
ORACLE = "oracle"


@dataclass(frozen=True)
class Point:
    """One training run of a curve, and how it fared."""

    labels: int
    hold_out: float
    shown_ece: float
    """Calibration error of the suggestions' "% sure" (on the hold-out)."""
    run: TrainingRun


def split(task: Task, seed: int) -> tuple[np.ndarray, np.ndarray]:
    return train_test_split(np.arange(len(task.values)), test_size=HOLD_OUT, stratify=task.labels, random_state=seed)


def open_store(folder: Path, task: Task, what: str) -> Store:
    """A store on a fresh SQLite file of its own."""
    return Store.connect(f"sqlite:///{folder / (task.name.replace('/', '-') + f'-{what}.db')}")


def new_project(store: Store, task: Task, name: str, pool: np.ndarray, given: list[str | None], training_: dict):
    """The pool as a project: items carry their corpus index (the oracle's key), `given` labels imported."""
    settings = {**task.settings, "training": {**task.training, **training_}}
    project = store.create_project(name, task.label_set, settings=settings)
    store.add_items(project.id, [{**task.values[i], "index": int(i)} for i in pool], labels=given)
    hooks.prepare(store, project.id, task)
    return project


def hold_out(store: Store, project_id: int, task: Task, test: np.ndarray) -> tuple[float, float]:
    """(accuracy, calibration error) of the saved model on the hold-out. The error is the expected
    calibration error (equal-width bins, Guo et al. 2017) of the suggestion and "% sure" that the Label page
    would show: `predict` is what the run writes as each open item's suggestion (`check_shown` checks it)."""
    model = model_files.load_model(store, project_id)
    x, keep, _ = model.inputs(hooks.model_values(model, [task.values[i] for i in test]))
    guessed, sure = model.predict(model.probabilities(x))
    correct = (np.asarray(guessed) == np.asarray([task.labels[i] for i in test])[keep]).astype(float)
    which = np.clip(np.ceil(sure * ECE_BINS).astype(int) - 1, 0, ECE_BINS - 1)
    ece = float(np.abs(np.bincount(which, weights=correct - sure, minlength=ECE_BINS)).sum() / len(correct))
    return float(correct.mean()), ece


def check_shown(store: Store, project_id: int, task: Task, items: int = 10) -> None:
    """Warn when the suggestions stored for the Label page are not the saved model's `predict` (then the
    calibration error above is not that of the "% sure" shown)."""
    ids = store.model_data.open_item_ids(project_id)[:items]
    data = store.model_data.items_by_id(project_id, ids)
    model = model_files.load_model(store, project_id)
    x, keep, _ = model.inputs(hooks.model_values(model, [task.values[decode(data[i])["index"]] for i in ids]))
    _, sure = model.predict(model.probabilities(x))
    stored = [store.model_data.prediction(project_id, i) for i, k in zip(ids, keep) if k]
    if not np.allclose(sure, [p.probability for p in stored], atol=1e-6):
        print("WARNING: the stored suggestions' certainty is not the saved model's predict(); ECE shown is off")


def curve(task: Task, strategy: str, seed: int, shuffle_prop: float, max_labels: int, checkpoints, folder) -> list[Point]:
    """The learning curve of one strategy and seed: a point after every retrain."""
    pool, test = split(task, seed)
    store = open_store(folder, task, f"{strategy}-{seed}")
    try:
        initial = set(np.random.default_rng(seed).choice(len(pool), INITIAL_LABELS, replace=False).tolist())
        given = [task.labels[i] if k in initial else None for k, i in enumerate(pool)]
        settings = {"strategy": strategy, "shuffle_prop": shuffle_prop, "every_labels": BATCH}
        project = new_project(store, task, f"{strategy}-{seed}", pool, given, settings)
        points: list[Point] = []
        labelled, limit = INITIAL_LABELS, min(max_labels, len(pool))
        for round_ in range(10_000):
            run = training.train(store, project.id, seed=seed * 10_000 + round_)
            assert run.status == "finished" and run.model, run
            if round_ == 0:
                check_shown(store, project.id, task)
            points.append(Point(labelled, *hold_out(store, project.id, task, test), run))
            if labelled >= limit:
                return points
            for _ in range(min(BATCH, limit - labelled)):
                item = store.next_item(project.id, ORACLE)
                store.submit(project.id, item.id, ORACLE, task.labels[item.data["index"]])
                labelled += 1
        return points
    finally:
        store.close()


def full_pool(task: Task, seed: int, folder: Path) -> tuple[float, str]:
    """Hold-out accuracy of the model trained on the whole labelled pool, and the model's description."""
    pool, test = split(task, seed)
    store = open_store(folder, task, f"full-{seed}")
    try:
        project = new_project(store, task, f"full-{seed}", pool, [task.labels[i] for i in pool], {})
        run = training.train(store, project.id, evaluate=False)
        return hold_out(store, project.id, task, test)[0], str(run.model)
    finally:
        store.close()


def label_errors(task: Task, seed: int, folder: Path) -> tuple[float, float, int] | None:
    """(precision, recall, flagged) of the project's "labels to check" when FLIPPED of the pool's labels are
    wrong (each a random other label); None without the feature."""
    if not hooks.HAS_LABEL_ERRORS:
        return None
    pool, _ = split(task, seed)
    rng = np.random.default_rng(seed)
    flipped = set(rng.choice(len(pool), round(FLIPPED * len(pool)), replace=False).tolist())
    given = []
    for k, i in enumerate(pool):
        others = [label for label in task.label_set if label != task.labels[i]]
        given.append(str(rng.choice(others)) if k in flipped else task.labels[i])
    store = open_store(folder, task, f"flipped-{seed}")
    try:
        project = new_project(store, task, f"flipped-{seed}", pool, given, {})
        training.train(store, project.id, seed=seed)
        flags = hooks.label_error_flags(store, project.id, len(pool))
        wrong = {int(pool[k]) for k in flipped}
        found = store.model_data.items_by_id(project.id, flags)
        hits = sum(decode(found[i])["index"] in wrong for i in flags)
        return (hits / len(flags) if flags else 0.0), hits / len(wrong), len(flags)
    finally:
        store.close()


# Summaries -------------------------------------------------------------------------------------------------


def mean_curve(curves: list[list[Point]]) -> dict[int, float]:
    common = sorted(set.intersection(*({p.labels for p in c} for c in curves)))
    return {n: float(np.mean([p.hold_out for c in curves for p in c if p.labels == n])) for n in common}


def labels_to_reach(mean: dict[int, float], target: float) -> str:
    reached = [n for n, accuracy in sorted(mean.items()) if accuracy >= target]
    return str(reached[0]) if reached else f">{max(mean)}"


def area(mean: dict[int, float]) -> float:
    """Mean accuracy over the curve, from the first label count to the last (trapezoids)."""
    n, accuracy = np.asarray(sorted(mean)), np.asarray([mean[k] for k in sorted(mean)])
    return float(np.sum((accuracy[1:] + accuracy[:-1]) / 2 * np.diff(n)) / (n[-1] - n[0])) if len(n) > 1 else float(accuracy[0])


def stops_at(curves: list[list[Point]]) -> str:
    """Labels at which the stopping rule (`stopping.stabilised`, as the Train page reads the runs) first
    fires, per seed."""
    found = []
    for c in curves:
        kappas = [hooks.run_field(p.run, "stability_kappa") for p in c]
        if any(k is hooks.MISSING for k in kappas):
            return NA
        fired = next((p.labels for k, p in enumerate(c) if stopping.stabilised(kappas[1 : k + 1], p.labels).stop), None)
        found.append(str(fired) if fired is not None else "never")
    return "/".join(found)


def at(curves: list[list[Point]], n: int) -> list[Point]:
    return [p for c in curves for p in c if p.labels == n]


def mean_of(values: list[Any], digits: int = 3) -> str:
    if any(v is hooks.MISSING for v in values):
        return NA
    present = [float(v) for v in values if v is not None]
    return f"{np.mean(present):.{digits}f}" if present else "none"


def shown_rows(strategy: str, curves: list[list[Point]]) -> list[str]:
    rows = []
    for n in SHOWN_AT:
        points = at(curves, n)
        if not points:
            continue
        field = {name: [hooks.run_field(p.run, name) for p in points] for name in hooks.RUN_FIELDS}
        honest = mean_of(field["honest_accuracy"])
        if honest != NA:
            gaps = [abs(h - p.hold_out) for h, p in zip(field["honest_accuracy"], points) if h is not None]
            honest += (f" [{mean_of(field['honest_low'])}, {mean_of(field['honest_high'])}] n={mean_of(field['honest_n'], 0)}"
                       f"; |gap| {np.mean(gaps):.3f}" if gaps else "")
        cv = mean_of([(p.run.scores or {}).get("cv_accuracy") for p in points])
        shown = mean_of([p.shown_ece for p in points])
        rows.append(f"| {strategy} | {n} | {np.mean([p.hold_out for p in points]):.3f} | {cv} | {honest} | {shown} "
                    f"| {mean_of(field['ece'])} |")
    return rows


def report(task: Task, strategies: list[str], args, folder: Path) -> None:
    started = time.monotonic()
    fulls = [full_pool(task, seed, folder) for seed in range(args.seeds)]
    full = float(np.mean([f[0] for f in fulls]))
    print(f"\n## {task.name}: {task.how}; model: {fulls[0][1]}")
    print(f"full-pool accuracy {full:.4f} ({TARGET:.0%}: {TARGET * full:.4f}), {len(task.values)} items")
    checkpoints = [c for c in args.checkpoints if c <= args.max_labels] or [args.max_labels]
    print("\n| strategy | " + " | ".join(f"acc@{c}" for c in checkpoints) + f" | labels to {TARGET:.0%} | area | stops at |")
    print("|---" * (len(checkpoints) + 4) + "|")
    shown: list[str] = []
    for strategy in strategies:
        curves = [curve(task, strategy, seed, args.shuffle_prop, args.max_labels, checkpoints, folder)
                  for seed in range(args.seeds)]
        mean = mean_curve(curves)
        cells = [f"{mean[c]:.4f}" if c in mean else "—" for c in checkpoints]
        name = f"**{strategy} (default)**" if strategy == DEFAULT_STRATEGY else strategy
        print(f"| {name} | " + " | ".join(cells) + f" | {labels_to_reach(mean, TARGET * full)} | {area(mean):.4f} "
              f"| {stops_at(curves)} |", flush=True)
        shown += shown_rows(strategy, curves)
    print("\nThe shown score against the hold-out (means over seeds); calibration error (ECE) of the Label page's "
          "\"% sure\" (on the hold-out), and the run's own ECE:\n")
    print("| strategy | labels | hold-out | CV shown | honest [interval] n | ECE shown | run ECE |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(shown))
    found = [label_errors(task, seed, folder) for seed in range(args.seeds)]
    if any(f is None for f in found):
        print(f"\nlabels to check with {FLIPPED:.0%} of labels flipped: {NA}")
    else:
        precision = mean_of([p for p, _, n in found if n])  # a seed that flagged nothing has no precision
        recall, flagged = (np.mean(column) for column in list(zip(*found))[1:])
        print(f"\nlabels to check with {FLIPPED:.0%} of labels flipped: precision {precision}, recall {recall:.3f}, "
              f"{flagged:.0f} flagged (means over seeds)")
    print(f"({time.monotonic() - started:.0f} s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="digits,rotten_tomatoes",
                        help="digits, breast_cancer, rotten_tomatoes (both representations), rotten_tomatoes:tfidf, "
                        "rotten_tomatoes:embeddings")
    parser.add_argument("--strategies", default=",".join(dict.fromkeys(["random", "margin", DEFAULT_STRATEGY])))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--max-labels", type=int, default=max(CHECKPOINTS))
    parser.add_argument("--shuffle-prop", type=float, default=TrainingSettings().shuffle_prop,
                        help="default: the app's default")
    parser.add_argument("--embeddings-via", choices=["project", "vector"],
                        default="project" if hooks.HAS_TEXT_FEATURES else "vector",
                        help="project: text_features=embeddings on the text column; vector: a precomputed vector "
                        "column (the default without text_features on this branch)")
    parser.add_argument("--texts", type=int, help="a stratified sample of this many movie-review snippets (smoke tests)")
    parser.add_argument("--quick", action="store_true", help="2 seeds, checkpoints up to 100 labels")
    args = parser.parse_args()
    args.checkpoints = CHECKPOINTS
    if args.quick:
        args.seeds, args.max_labels, args.checkpoints = 2, max(QUICK_CHECKPOINTS), QUICK_CHECKPOINTS
    strategies = args.strategies.split(",")
    print(f"# Active learning: {args.seeds} seeds, {INITIAL_LABELS} random initial labels, batches of {BATCH}, "
          f"{HOLD_OUT:.0%} stratified hold-out, shuffle_prop={args.shuffle_prop}, the project's default model; "
          f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}")
    print(f"text_features training setting: {'yes' if hooks.HAS_TEXT_FEATURES else NA}; "
          f"honest score / ECE / stability fields on TrainingRun: "
          f"{'yes' if hooks.HAS_RUN_FIELDS else NA}; labels to check: {'yes' if hooks.HAS_LABEL_ERRORS else NA}")
    selected = hooks.tasks(args.datasets.split(","), args.embeddings_via, args.texts)
    if hooks.ENCODING:
        e = hooks.ENCODING
        print(f"embeddings: {e['texts']:.0f} texts encoded once in {e['seconds']:.1f} s, {e['per_cpu_second']:.0f} texts "
              f"per CPU-second (one thread); the extra's packages take {e['mb']:.0f} MB installed")
    with tempfile.TemporaryDirectory(prefix="al-bench-") as tmp:
        for task in selected:
            report(task, strategies, args, Path(tmp))


if __name__ == "__main__":
    main()
