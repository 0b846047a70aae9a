"""Active learning against random sampling, through the project's own code (not a copy of it).

    OMP_NUM_THREADS=1 python benchmarks/active_learning.py            # digits and breast_cancer, 5 seeds
    python benchmarks/active_learning.py --quick                      # 2 seeds, up to 100 labels

For each data set and seed: a 30% stratified hold-out is set aside; the rest (the pool) becomes a project
in a `Store` on a temporary SQLite file, with 20 random items imported as labelled. Then, until
`--max-labels`: `labelling.learning.training.train` fits the project's default model and reorders the queue with
the strategy under test (the project's settings, shuffle_prop included), the saved model
(`model_files.load_model`) is scored on the hold-out, and an oracle labeller takes the next 10 items with
`Store.next_item` / `Store.submit`. "Full" is the same model trained on the whole labelled pool.

Prints hold-out accuracy (mean over seeds) at 50/100/200/300/400 labels and the labels needed for the
mean curve to reach 90% and 95% of full-pool accuracy, per strategy.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy: one BLAS thread is several times faster here

import numpy as np  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labelling import Store  # noqa: E402
from labelling.learning import model_files, training  # noqa: E402
from labelling.learning.training_settings import TrainingSettings  # noqa: E402
from labelling.learning.strategies import STRATEGIES  # noqa: E402

CHECKPOINTS = (50, 100, 200, 300, 400)
INITIAL_LABELS = 20
BATCH = 10
HOLD_OUT = 0.3
ORACLE = "oracle"


def dataset(name: str):
    """(item dicts, labels as text, project settings) for a data set."""
    if name == "digits":
        digits = load_digits()
        values = [{"image": image} for image in digits.images]
        settings = {"display": "image", "image_column": "image", "feature_columns": ["image"]}
        return values, [str(t) for t in digits.target], [str(d) for d in range(10)], settings
    if name == "breast_cancer":
        data = load_breast_cancer()
        columns = [str(c) for c in data.feature_names]
        values = [dict(zip(columns, map(float, row))) for row in data.data]
        settings = {"display": "table", "table_columns": columns, "feature_columns": columns}
        return values, [str(data.target_names[t]) for t in data.target], [str(n) for n in data.target_names], settings
    raise SystemExit(f"unknown data set {name!r}")


def hold_out_accuracy(store: Store, project_id: int, values, truth) -> float:
    model = model_files.load_model(store, project_id)
    x, keep, _ = model.inputs(values)
    guessed, _ = model.predict(model.probabilities(x))
    return float(np.mean(np.asarray(guessed) == np.asarray(truth)[keep]))


def curve(name, strategy, seed, shuffle_prop, max_labels, folder) -> dict[int, float]:
    """Hold-out accuracy after each retrain, by number of labels."""
    values, labels, label_set, settings = dataset(name)
    pool, test = train_test_split(np.arange(len(values)), test_size=HOLD_OUT, stratify=labels, random_state=seed)
    store = Store.connect(f"sqlite:///{folder / f'{name}-{strategy}-{seed}.db'}")
    try:
        training_settings = {"strategy": strategy, "shuffle_prop": shuffle_prop, "every_labels": BATCH}
        project = store.create_project(
            f"{name}-{strategy}-{seed}", label_set, settings={**settings, "training": training_settings}
        )
        initial = set(np.random.default_rng(seed).choice(len(pool), INITIAL_LABELS, replace=False).tolist())
        items = [{**values[i], "index": int(i)} for i in pool]
        store.add_items(project.id, items, labels=[labels[i] if k in initial else None for k, i in enumerate(pool)])
        test_values, test_truth = [values[i] for i in test], [labels[i] for i in test]
        found: dict[int, float] = {}
        labelled = INITIAL_LABELS
        limit = min(max_labels, len(pool))
        for round_ in range(10_000):
            run = training.train(store, project.id, seed=seed * 10_000 + round_, evaluate=False)
            assert run.status == "finished" and run.model, run
            found[labelled] = hold_out_accuracy(store, project.id, test_values, test_truth)
            if labelled >= limit:
                return found
            for _ in range(min(BATCH, limit - labelled)):
                item = store.next_item(project.id, ORACLE)
                store.submit(project.id, item.id, ORACLE, labels[item.data["index"]])
                labelled += 1
        return found
    finally:
        store.close()


def full_pool(name, seed, folder) -> float:
    values, labels, label_set, settings = dataset(name)
    pool, test = train_test_split(np.arange(len(values)), test_size=HOLD_OUT, stratify=labels, random_state=seed)
    store = Store.connect(f"sqlite:///{folder / f'{name}-full-{seed}.db'}")
    try:
        project = store.create_project(f"{name}-full-{seed}", label_set, settings=settings)
        store.add_items(project.id, [values[i] for i in pool], labels=[labels[i] for i in pool])
        training.train(store, project.id, evaluate=False)
        return hold_out_accuracy(store, project.id, [values[i] for i in test], [labels[i] for i in test])
    finally:
        store.close()


def labels_to_reach(mean: dict[int, float], target: float) -> str:
    reached = [n for n, accuracy in sorted(mean.items()) if accuracy >= target]
    return str(reached[0]) if reached else f">{max(mean)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", default="digits,breast_cancer")
    parser.add_argument("--strategies", default=",".join(STRATEGIES))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--max-labels", type=int, default=400)
    parser.add_argument("--shuffle-prop", type=float, default=None, help="default: the app's default")
    parser.add_argument("--quick", action="store_true", help="2 seeds, up to 100 labels")
    args = parser.parse_args()
    if args.quick:
        args.seeds, args.max_labels = 2, 100
    shuffle_prop = TrainingSettings().shuffle_prop if args.shuffle_prop is None else args.shuffle_prop
    strategies = args.strategies.split(",")
    print(f"# Active learning: {args.seeds} seeds, {INITIAL_LABELS} random initial labels, batches of {BATCH}, "
          f"{HOLD_OUT:.0%} stratified hold-out, shuffle_prop={shuffle_prop}, LogisticRegression (project default)")
    with tempfile.TemporaryDirectory(prefix="al-bench-") as tmp:
        folder = Path(tmp)
        for name in args.datasets.split(","):
            started = time.monotonic()
            full = float(np.mean([full_pool(name, seed, folder) for seed in range(args.seeds)]))
            print(f"\n## {name}: full-pool accuracy {full:.4f} (90%: {0.9 * full:.4f}, 95%: {0.95 * full:.4f})")
            shown = [c for c in CHECKPOINTS if c <= args.max_labels]
            print("| strategy | " + " | ".join(f"acc@{c}" for c in shown) + " | labels to 90% | labels to 95% |")
            print("|---" * (len(shown) + 3) + "|")
            for strategy in strategies:
                curves = [curve(name, strategy, seed, shuffle_prop, args.max_labels, folder) for seed in range(args.seeds)]
                common = sorted(set.intersection(*(set(c) for c in curves)))
                mean = {n: float(np.mean([c[n] for c in curves])) for n in common}
                cells = [f"{mean[c]:.4f}" if c in mean else f"{mean[max(mean)]:.4f} (all {max(mean)})" for c in shown]
                print(f"| {strategy} | " + " | ".join(cells)
                      + f" | {labels_to_reach(mean, 0.9 * full)} | {labels_to_reach(mean, 0.95 * full)} |", flush=True)
            print(f"({time.monotonic() - started:.0f} s)")


if __name__ == "__main__":
    main()
