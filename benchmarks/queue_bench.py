"""Queue figures for the README: ingest, next+submit latency, concurrency, re-ordering; ours, the floor's, the peer's.

    python benchmarks/queue_bench.py                 # full run: 10k and 1M items on PostgreSQL, SQLite 100k
    python benchmarks/queue_bench.py --quick         # 10k/100k, a smoke run of the same code

Runs against the local PostgreSQL (`--postgres URL`), each run in a schema of its own that is dropped
afterwards, and a temporary SQLite file. Measured in the same run on the same server: a minimal correct
queue, the floor (benchmarks/floor_queue.py), and superintendent 0.6.0's DatabaseQueue
(benchmarks/peer.py; `--no-peer` to leave it out). Ours is timed as the Label page clicks: one
`submit_and_next` per label. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
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

import floor_queue  # noqa: E402
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


def table_on_both(measure, doc: str, full: int, quick: int, what: str = "labelled items") -> None:
    """A benchmark's command line (`--quick`: `quick` items, else `full`; `doc` its help): `measure(url, n)`
    ({step: figure}) in a PostgreSQL schema of its own and a temporary SQLite file, one after the other,
    printed as a Markdown table of steps by database."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"{quick:,} items")
    n = quick if parser.parse_args().quick else full
    results = {}
    with Schema(POSTGRES) as url:
        log(f"PostgreSQL, {n:,} {what}")
        results["PostgreSQL"] = measure(url, n)
    with tempfile.TemporaryDirectory() as folder:
        log(f"SQLite, {n:,} {what}")
        results["SQLite"] = measure(f"sqlite:///{folder}/bench.db", n)
    print(f"| {n:,} {what} | " + " | ".join(results) + " |")
    print("|---|" + "---|" * len(results))
    for step in next(iter(results.values())):
        print(f"| {step} | " + " | ".join(r[step] for r in results.values()) + " |")


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
    """One labeller's clicks: each records a label and takes the next item (the Label page's one call)."""
    item = store.next_item(project_id, "bench-solo")
    timings = []
    for _ in range(ops):
        started = time.perf_counter()
        _, item = store.submit_and_next(project_id, item.id, "bench-solo", LABELS[item.id % 3])
        timings.append(time.perf_counter() - started)
    ms = np.array(timings) * 1000
    return {"p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99))}


class _Ours:
    """A labeller process's queue through `Store`, as the Label page uses it."""

    def __init__(self, url: str, project_id: int, name: str):
        self.store, self.project_id, self.name = Store.connect(url, upgrade=False), project_id, name

    def first(self) -> int | None:
        item = self.store.next_item(self.project_id, self.name)
        return None if item is None else item.id

    def click(self, item_id: int) -> int | None:
        _, item = self.store.submit_and_next(self.project_id, item_id, self.name, LABELS[item_id % 3])
        return None if item is None else item.id

    def close(self) -> None:
        self.store.close()


class _Floor:
    """A labeller process's queue on the floor (benchmarks/floor_queue.py)."""

    def __init__(self, url: str, _project_id: int, name: str):
        self.labeller = floor_queue.Labeller(url, name)

    def first(self) -> int | None:
        return self.labeller.claim()

    def click(self, task_id: int) -> int | None:
        self.labeller.submit(task_id, LABELS[task_id % 3])
        return self.labeller.claim()

    def close(self) -> None:
        self.labeller.close()


def _worker(kind: str, url: str, project_id: int, name: str, barrier, deadline_box, results) -> None:
    queue = (_Floor if kind == "floor" else _Ours)(url, project_id, name)
    queue.first()  # connect and warm up before the clock starts (the first hand-out is then held)
    barrier.wait()
    handed, submitted, errors = [], 0, []
    cpu = time.process_time()
    item = queue.first()
    while item is not None and time.monotonic() < deadline_box.value:
        handed.append(item)
        try:
            item = queue.click(item)
            submitted += 1
        except Exception as error:  # counted and shown, not hidden: any error here is a finding
            errors.append(f"{type(error).__name__}: {error}"[:200])
            item = None
    cpu = time.process_time() - cpu
    results.put((name, handed, submitted, errors, cpu))
    queue.close()


def measure_concurrency(url: str, workers: int, items: int, seconds: float, kind: str = "ours") -> dict:
    """`workers` labeller processes next+submit for `seconds` once all have connected; checks every hand-out.
    kind "floor" runs the same loop on the floor queue."""
    if kind == "floor":
        floor_queue.build(url, texts(items))
        project_id = 0
    else:
        store = Store.connect(url)
        project_id = store.create_project(f"concurrent-{uuid.uuid4().hex[:6]}", LABELS).id
        store.add_items(project_id, texts(items))
    context = mp.get_context("spawn")
    barrier = context.Barrier(workers + 1)
    deadline = context.Value("d", float("inf"))
    results = context.Queue()
    processes = [
        context.Process(target=_worker, args=(kind, url, project_id, f"w{i}", barrier, deadline, results))
        for i in range(workers)
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
    handed = [i for _, ids, _, _, _ in outcomes for i in ids]
    submitted = sum(s for _, _, s, _, _ in outcomes)
    errors = [e for _, _, _, es, _ in outcomes for e in es]
    cpu = sum(c for *_, c in outcomes)
    for error in sorted(set(errors))[:5]:
        log(f"worker error: {error}")
    if kind == "floor":
        recorded, twice = floor_queue.labelled(url)
    else:
        annotations = store.annotations(project_id)
        recorded, twice = int(annotations["current"].sum()), int(annotations.duplicated("item_id").sum())
        store.close()
    return {
        "labels_per_s": submitted / elapsed,
        "duplicates": len(handed) - len(set(handed)) + twice,
        "lost": submitted - recorded,
        "errors": len(errors),
        "submitted": submitted,
        "cpu_ms_per_label": 1000 * cpu / max(submitted, 1),
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
    for size in sorted({small, big}):
        with Schema(server) as url:
            log(f"floor: {size:,} tasks")
            floor_queue.build(url, texts(size))
            out[f"floor_latency_{size}"] = floor_queue.latency(url, LATENCY_OPS, LABELS)
    for kind in ("floor", "ours"):
        with Schema(server) as url:
            log(f"{kind}: {workers} concurrent labeller processes")
            out[f"concurrency_{kind}"] = measure_concurrency(url, workers, 100_000, CONCURRENT_SECONDS, kind)
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

    ours_big, ours_small = pg["latency_big"], pg["latency_small"]
    floor_big, floor_small = pg[f"floor_latency_{big}"], pg[f"floor_latency_{small}"]
    ours_many, floor_many = pg["concurrency_ours"], pg["concurrency_floor"]
    rows = [
        ("ingest short text rows/s (PostgreSQL)", f"{pg['ingest_text']['rows_per_s']:,.0f} ({big:,} rows in {pg['ingest_text']['seconds']:.1f} s, peak RSS +{pg['ingest_text']['rss_growth_mb']:.0f} MB)", "", "≥ 30,000; 1M ≤ 30 s", _peer(peer, "enqueue", small)),
        ("ingest 64-float rows/s (PostgreSQL)", f"{pg['ingest_floats']['rows_per_s']:,.0f} ({big:,} rows in {pg['ingest_floats']['seconds']:.1f} s, peak RSS +{pg['ingest_floats']['rss_growth_mb']:.0f} MB)", "", "≥ 30,000", ""),
        (f"next+submit p50 / p99 at {small:,} (PostgreSQL)", _latency(ours_small, floor_small, peer), _latency(floor_small), "≤ 0.5x peer, ≤ 3x floor; p99 ≤ 5 ms", _peer(peer, "latency", small)),
        (f"next+submit p50 / p99 at {big:,} (PostgreSQL)", _latency(ours_big, floor_big), _latency(floor_big), "p50 ≤ 1.5 ms at 1M, ≤ 3x floor; p99 ≤ 5 ms", ""),
        (f"{CONCURRENT_WORKERS} labeller processes, 100,000 items (PostgreSQL)", _concurrency(ours_many) + f" ({ours_many['labels_per_s'] / floor_many['labels_per_s']:.2f}x floor)", _concurrency(floor_many), "≥ 0.6x floor, 0 dup, 0 lost", _peer(peer, "duplicates", small)),
        (f"set_priorities {big:,} items (PostgreSQL)", f"{pg['priorities_s']:.1f} s", "", "≤ 5 s at 1M", _peer(peer, "reorder", small)),
        ("ingest short text rows/s (SQLite, 100k)", f"{lite['ingest_text']['rows_per_s']:,.0f}", "", "", ""),
        ("next+submit p50 / p99 at 100,000 (SQLite)", _latency(lite["latency"]), "", "p50 ≤ 0.5 ms", ""),
        ("8 labeller processes (SQLite)", _concurrency(lite["concurrency"]), "", "0 dup, 0 lost", ""),
        ("set_priorities 100,000 items (SQLite)", f"{lite['priorities_s']:.1f} s", "", "", ""),
    ]
    print("| measure | ours | minimal queue, the floor (same run) | target | superintendent 0.6.0 (same run) |")
    print("|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def _latency(result: dict, floor: dict | None = None, peer: dict | None = None) -> str:
    shown = f"{result['p50']:.2f} / {result['p99']:.2f} ms"
    ratios = [f"{result['p50'] / floor['p50']:.1f}x floor"] if floor else []
    if peer is not None:
        ratios.append(f"{result['p50'] / peer['pop_submit_p50_ms']:.2f}x peer")
    return shown + (f" (p50 {', '.join(ratios)})" if ratios else "")


def _concurrency(result: dict) -> str:
    return (
        f"{result['labels_per_s']:,.0f} labels/s, {result['duplicates']} duplicate hand-outs, "
        f"{result['lost']} lost, {result['errors']} errors ({result['submitted']:,} labels), "
        f"client CPU {result['cpu_ms_per_label']:.2f} ms per label"
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
