"""Retraining at scale: retrain + rescore + reprioritise 100k short-text items on PostgreSQL, and what a
retrain costs the people labelling meanwhile.

    OMP_NUM_THREADS=1 python benchmarks/retrain_bench.py                 # 100k items, 2,000 labelled
    python benchmarks/retrain_bench.py --items 20000 --labelled 500      # a smaller run of the same code

1. A project of `--items` short reviews (3 labels) in a fresh PostgreSQL schema, `--labelled` of them
   imported as labelled; a "Retrain now" request is filed and a real worker process
   (`python -m labelling.learning.worker --once`, as deployed) trains the default model (TF-IDF + logistic
   regression, 3-fold CV), scores every open item, writes the predictions and the new priorities.
   Reported: the run's duration (database clock, start to finish) and the worker process's wall time.
2. `Store.next_item` latency for one labeller labelling non-stop (next_item, then submit): ROUNDS times,
   IDLE_SECONDS with nothing else of ours running, then for as long as a retrain runs in a worker
   process. p50 / p99 of each round and of all rounds pooled, and the pooled p99 ratio. The machine's
   load average is printed: on a shared machine other people's work moves p99 more than ours does.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import sqlalchemy as sa  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from labelling import Store  # noqa: E402
from labelling.storage.runs import RunStatus  # noqa: E402

POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
LABELS = ["positive", "negative", "neutral"]
WORDS = {
    "positive": ["great", "lovely", "works", "happy", "perfect", "quick", "sturdy", "recommend"],
    "negative": ["broken", "returned", "awful", "late", "scratched", "leaks", "refund", "useless"],
    "neutral": ["arrived", "box", "colour", "size", "ordered", "delivery", "manual", "average"],
}
FILLER = ["the", "kettle", "lid", "handle", "it", "was", "is", "and", "very", "bit", "my", "this", "one", "after", "week"]
IDLE_SECONDS = 10.0
ROUNDS = 4
LABELLER = "bench-labeller"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def reviews(n: int, rng: np.random.Generator) -> tuple[list[dict], list[str]]:
    """Short synthetic reviews: 7-13 words, 1-2 of them telling the label, the rest filler; a third of them
    mention another label's word too, and a tenth are labelled at random (people disagree)."""
    classes = rng.integers(0, len(LABELS), n)
    rows, truth = [], []
    for cls in classes:
        label = LABELS[cls] if rng.random() > 0.1 else LABELS[rng.integers(0, len(LABELS))]
        telling = list(rng.choice(WORDS[LABELS[cls]], rng.integers(1, 3)))
        if rng.random() < 0.33:
            telling.append(rng.choice(WORDS[LABELS[(cls + 1) % 3]]))
        words = telling + list(rng.choice(FILLER, rng.integers(6, 11)))
        rng.shuffle(words)
        rows.append({"review": " ".join(words)})
        truth.append(label)
    return rows, truth


def worker(url: str, folder: Path, *args: str) -> subprocess.Popen:
    """`python -m labelling.learning.worker --once` at its default niceness and duty cycle; `args` are added."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "LABELLING_MODEL_DIR": str(folder), "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "labelling.learning.worker", "--database-url", url, "--once", "--log-level", "WARNING", *args],
        cwd=REPO,
        env=env,
    )


def label_loop(store: Store, project_id: int, truth_of, *, ops: int | None = None, until=None) -> list[float]:
    """next_item latencies (ms) of one labeller who labels every item handed out."""
    latencies = []
    while (ops is None or len(latencies) < ops) and (until is None or not until()):
        started = time.perf_counter()
        item = store.next_item(project_id, LABELLER)
        latencies.append((time.perf_counter() - started) * 1000)
        store.submit(project_id, item.id, LABELLER, truth_of(item))
    return latencies


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default=POSTGRES)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--labelled", type=int, default=2_000)
    args = parser.parse_args()

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = f"{args.postgres}{'&' if '?' in args.postgres else '?'}options={quote(f'-csearch_path={schema}')}"
    try:
        with tempfile.TemporaryDirectory(prefix="retrain-bench-") as folder:
            run(url, Path(folder), args.items, args.labelled)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


def run(url: str, folder: Path, n_items: int, n_labelled: int) -> None:
    rng = np.random.default_rng(0)
    rows, truth = reviews(n_items, rng)
    store = Store.connect(url)
    project = store.create_project(
        "retrain-bench", LABELS, settings={"display": "text", "text_column": "review", "feature_columns": ["review"]}
    )
    started = time.perf_counter()
    store.add_items(project.id, rows, labels=[t if i < n_labelled else None for i, t in enumerate(truth)])
    log(f"added {n_items:,} items ({n_labelled:,} labelled) in {time.perf_counter() - started:.1f} s")
    by_text = {row["review"]: label for row, label in zip(rows, truth)}

    def truth_of(item) -> str:
        return by_text[item.data["review"]]

    store.request_training(project.id)
    started = time.perf_counter()
    first = worker(url, folder)
    assert first.wait() == 0
    wall = time.perf_counter() - started
    (trained,) = store.training_runs(project.id)
    assert trained.status == "finished", trained.error
    print(f"# Retrain at scale (PostgreSQL, {os.cpu_count()} cores, OMP_NUM_THREADS=1)")
    print(f"\n{n_items:,} short-text items, {trained.n_labels:,} labelled; {trained.model}, {trained.strategy}")
    print(f"- retrain + rescore + reprioritise (run duration, database clock): {trained.duration:.1f} s")
    print(f"- worker process wall time (start-up and imports included): {wall:.1f} s")
    print(f"- 3-fold CV accuracy {trained.scores['cv_accuracy']:.3f}, {trained.scores['items_scored']:,} items scored")

    idle: list[float] = []
    busy: list[float] = []
    rows_ = []
    for round_ in range(ROUNDS):
        quiet_until = time.monotonic() + IDLE_SECONDS
        quiet = label_loop(store, project.id, truth_of, until=lambda: time.monotonic() > quiet_until)
        store.request_training(project.id)
        retrain = worker(url, folder)
        # Measure from the moment the worker starts training (its run is running) until it ends.
        while store.training_runs(project.id)[-1].status == RunStatus.QUEUED and retrain.poll() is None:
            label_loop(store, project.id, truth_of, ops=5)
        during = label_loop(store, project.id, truth_of, until=lambda: retrain.poll() is not None)
        assert retrain.wait() == 0
        seconds = store.training_runs(project.id)[-1].duration
        rows_.append((round_ + 1, quiet, during, seconds, os.getloadavg()[0]))
        idle += quiet
        busy += during
    print("\nnext_item latency (ms), one labeller labelling non-stop (next_item + submit):")
    print("| round | idle ops | idle p50 | idle p99 | retrain s | ops during | p50 during | p99 during | load avg |")
    print("|---|---|---|---|---|---|---|---|---|")
    for number, quiet, during, seconds, load in rows_:
        (i50, i99), (b50, b99) = percentiles(quiet), percentiles(during)
        print(f"| {number} | {len(quiet)} | {i50:.1f} | {i99:.1f} | {seconds:.1f} | {len(during)} | {b50:.1f} | {b99:.1f} "
              f"| {load:.1f} |")
    (i50, i99), (b50, b99) = percentiles(idle), percentiles(busy)
    print(f"| all | {len(idle)} | {i50:.1f} | {i99:.1f} | | {len(busy)} | {b50:.1f} | {b99:.1f} | |")
    print(f"\np99 while retraining / p99 idle, all rounds: {b99 / i99:.2f}x")
    store.close()


if __name__ == "__main__":
    main()
