"""Queue figures for the README: ingest, next+submit latency, concurrency, re-ordering; ours and the peer's.

    python benchmarks/queue_bench.py                 # full run: 10k and 1M items on PostgreSQL, SQLite 100k
    python benchmarks/queue_bench.py --quick         # 10k/100k, a smoke run of the same code

Runs against the local PostgreSQL (`--postgres URL`), each run in a schema of its own that is dropped
afterwards, and a temporary SQLite file. superintendent 0.6.0's DatabaseQueue is measured in the same
run on the same server (benchmarks/peer.py; `--no-peer` to leave it out). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from labelling import Store  # noqa: E402

POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
LATENCY_OPS = 2_000
CONCURRENT_WORKERS = 32
CONCURRENT_SECONDS = 10.0
LABELS = ["a", "b", "c"]


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Schema:
    """A PostgreSQL schema for one measurement, dropped afterwards."""

    def __init__(self, server: str):
        self.server = server
        self.name = f"bench_{uuid.uuid4().hex[:10]}"
        self.admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")

    def __enter__(self) -> str:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {self.name}")
        separator = "&" if "?" in self.server else "?"
        return f"{self.server}{separator}options={quote(f'-csearch_path={self.name}')}"

    def __exit__(self, *_exc) -> None:
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {self.name} CASCADE")
        self.admin.dispose()


def texts(n: int, offset: int = 0):
    """Short-text rows, generated lazily in chunks so the input itself costs no memory."""
    chunk = 50_000
    for start in range(offset, offset + n, chunk):
        yield [f"short review {i}: arrived late but works well" for i in range(start, min(start + chunk, offset + n))]


def floats(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    for start in range(0, n, 50_000):
        yield rng.random((min(50_000, n - start), 64))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_ingest(store: Store, n: int, kind: str) -> dict:
    project = store.create_project(f"{kind}-{n}-{uuid.uuid4().hex[:6]}", LABELS)
    before = peak_rss_mb()
    started = time.perf_counter()
    store.add_items(project.id, texts(n) if kind == "text" else floats(n))
    seconds = time.perf_counter() - started
    return {"project": project, "seconds": seconds, "rows_per_s": n / seconds, "rss_growth_mb": peak_rss_mb() - before}


def measure_latency(store: Store, project_id: int, ops: int = LATENCY_OPS) -> dict:
    timings = []
    for _ in range(ops):
        started = time.perf_counter()
        item = store.next_item(project_id, "bench-solo")
        store.submit(project_id, item.id, "bench-solo", LABELS[item.id % 3])
        timings.append(time.perf_counter() - started)
    ms = np.array(timings) * 1000
    return {"p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99))}


def _worker(url: str, project_id: int, name: str, barrier, deadline_box, results) -> None:
    store = Store.connect(url, upgrade=False)
    store.next_item(project_id, name)  # connect and warm up before the clock starts
    barrier.wait()
    handed, submitted, errors = [], 0, []
    item = store.next_item(project_id, name)
    while item is not None and time.monotonic() < deadline_box.value:
        handed.append(item.id)
        try:
            store.submit(project_id, item.id, name, LABELS[item.id % 3])
            submitted += 1
            item = store.next_item(project_id, name)
        except Exception as error:  # counted and shown, not hidden: any error here is a finding
            errors.append(f"{type(error).__name__}: {error}"[:200])
            item = None
    results.put((name, handed, submitted, errors))
    store.close()


def measure_concurrency(url: str, workers: int, items: int, seconds: float) -> dict:
    """`workers` labeller processes next+submit for `seconds` once all have connected; checks every hand-out."""
    store = Store.connect(url)
    project = store.create_project(f"concurrent-{uuid.uuid4().hex[:6]}", LABELS)
    store.add_items(project.id, texts(items))
    context = mp.get_context("spawn")
    barrier = context.Barrier(workers + 1)
    deadline = context.Value("d", float("inf"))
    results = context.Queue()
    processes = [
        context.Process(target=_worker, args=(url, project.id, f"w{i}", barrier, deadline, results)) for i in range(workers)
    ]
    for process in processes:
        process.start()
    barrier.wait()
    started = time.monotonic()
    deadline.value = started + seconds
    outcomes = [results.get() for _ in processes]
    elapsed = time.monotonic() - started
    for process in processes:
        process.join()
    handed = [i for _, ids, _, _ in outcomes for i in ids]
    submitted = sum(s for _, _, s, _ in outcomes)
    errors = [e for _, _, _, es in outcomes for e in es]
    for error in sorted(set(errors))[:5]:
        log(f"worker error: {error}")
    annotations = store.annotations(project.id)
    current = annotations[annotations["current"]]
    store.close()
    return {
        "labels_per_s": submitted / elapsed,
        "duplicates": len(handed) - len(set(handed)),
        "lost": submitted - len(current),
        "errors": len(errors),
        "submitted": submitted,
    }


def measure_priorities(store: Store, project_id: int, n: int) -> float:
    ids = np.arange(1, n + 1, dtype=np.int64)  # the first project's items are 1..n
    scores = np.random.default_rng(1).random(n)
    started = time.perf_counter()
    store.set_priorities(project_id, ids, scores)
    return time.perf_counter() - started


def run_postgres(server: str, big: int, small: int, workers: int) -> dict:
    out: dict = {}
    with Schema(server) as url:
        store = Store.connect(url)
        log(f"postgres: ingest {big:,} short-text rows")
        text = measure_ingest(store, big, "text")
        out["ingest_text"] = text
        out["priorities_s"] = measure_priorities(store, text["project"].id, big)
        log(f"postgres: set_priorities {big:,}: {out['priorities_s']:.1f} s")
        out["latency_big"] = measure_latency(store, text["project"].id)
        log(f"postgres: ingest {big:,} 64-float rows")
        out["ingest_floats"] = measure_ingest(store, big, "floats")
        small_project = store.create_project("small", LABELS)
        store.add_items(small_project.id, texts(small))
        out["latency_small"] = measure_latency(store, small_project.id)
        store.close()
    with Schema(server) as url:
        log(f"postgres: {workers} concurrent labeller processes")
        out["concurrency"] = measure_concurrency(url, workers, 100_000, CONCURRENT_SECONDS)
    return out


def run_sqlite(n: int) -> dict:
    out: dict = {}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        store = Store.connect(url)
        log(f"sqlite: ingest {n:,} rows")
        text = measure_ingest(store, n, "text")
        out["ingest_text"] = text
        out["latency"] = measure_latency(store, text["project"].id)
        out["priorities_s"] = measure_priorities(store, text["project"].id, n)
        store.close()
        log("sqlite: 8 concurrent labeller processes")
        out["concurrency"] = measure_concurrency(url, 8, 20_000, 5.0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL", POSTGRES))
    parser.add_argument("--quick", action="store_true", help="10k/100k items instead of 10k/1M")
    parser.add_argument("--no-peer", action="store_true", help="leave superintendent out")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    big = 100_000 if args.quick else 1_000_000
    small = 10_000

    peer = None
    if not args.no_peer:
        import peer as peer_module

        log("superintendent 0.6.0 (peer, 10k items)")
        peer = peer_module.measure_superintendent(args.postgres, items=small, reorder=9_600)
    pg = run_postgres(args.postgres, big, small, CONCURRENT_WORKERS)
    lite = run_sqlite(100_000)

    rows = [
        ("ingest short text rows/s (PostgreSQL)", f"{pg['ingest_text']['rows_per_s']:,.0f} ({big:,} rows in {pg['ingest_text']['seconds']:.1f} s, peak RSS +{pg['ingest_text']['rss_growth_mb']:.0f} MB)", "≥ 30,000; 1M ≤ 30 s", _peer(peer, "enqueue", small)),
        ("ingest 64-float rows/s (PostgreSQL)", f"{pg['ingest_floats']['rows_per_s']:,.0f} ({big:,} rows in {pg['ingest_floats']['seconds']:.1f} s, peak RSS +{pg['ingest_floats']['rss_growth_mb']:.0f} MB)", "≥ 30,000", ""),
        (f"next+submit p50 / p99 at {small:,} (PostgreSQL)", f"{pg['latency_small']['p50']:.2f} / {pg['latency_small']['p99']:.2f} ms", "", _peer(peer, "latency", small)),
        (f"next+submit p50 / p99 at {big:,} (PostgreSQL)", f"{pg['latency_big']['p50']:.2f} / {pg['latency_big']['p99']:.2f} ms (p50 ratio {pg['latency_big']['p50'] / pg['latency_small']['p50']:.2f}x)", "p50 ≤ 3, p99 ≤ 15 ms; ≤ 1.5x of 10k", ""),
        (f"{CONCURRENT_WORKERS} labeller processes (PostgreSQL)", _concurrency(pg["concurrency"]), "0 dup, 0 lost, ≥ 500 labels/s", _peer(peer, "duplicates", small)),
        (f"set_priorities {big:,} items (PostgreSQL)", f"{pg['priorities_s']:.1f} s", "≤ 20 s", _peer(peer, "reorder", small)),
        ("ingest short text rows/s (SQLite, 100k)", f"{lite['ingest_text']['rows_per_s']:,.0f}", "", ""),
        ("next+submit p50 / p99 at 100,000 (SQLite)", f"{lite['latency']['p50']:.2f} / {lite['latency']['p99']:.2f} ms", "p50 ≤ 3 ms", ""),
        ("8 labeller processes (SQLite)", _concurrency(lite["concurrency"]), "0 dup, 0 lost", ""),
        ("set_priorities 100,000 items (SQLite)", f"{lite['priorities_s']:.1f} s", "", ""),
    ]
    print("| measure | ours | target | superintendent 0.6.0 (same run) |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def _concurrency(result: dict) -> str:
    return (
        f"{result['labels_per_s']:,.0f} labels/s, {result['duplicates']} duplicate hand-outs, "
        f"{result['lost']} lost, {result['errors']} errors ({result['submitted']:,} labels)"
    )


def _peer(peer: dict | None, what: str, n: int) -> str:
    if peer is None:
        return "not measured"
    if what == "enqueue":
        return f"{n / peer['enqueue_s']:,.0f} rows/s"
    if what == "latency":
        return f"{peer['pop_submit_p50_ms']:.2f} / {peer['pop_submit_p99_ms']:.2f} ms"
    if what == "duplicates":
        return f"8 workers x 50 pops: {peer['duplicate_handouts']} duplicate hand-outs of {peer['concurrent_handed_out']}"
    return f"{peer['reorder_items']:,} items in {peer['reorder_s']:.1f} s"


if __name__ == "__main__":
    main()
