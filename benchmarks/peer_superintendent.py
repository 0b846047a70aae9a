"""Measure superintendent 0.6.0's ``DatabaseQueue`` on PostgreSQL: the peer we replace.

This script runs INSIDE the peer virtualenv made by ``benchmarks/peer.py``
(superintendent pins SQLAlchemy < 2.1, the project needs 2.1), so it imports only
superintendent, sqlalchemy, psycopg2, numpy and the standard library -- never ``labelling``.

Everything lives in its own PostgreSQL schema (dropped and re-created at the start),
reached through ``-csearch_path=<schema>`` in the connection options, so no other
table in the database is ever touched.

It prints ONE JSON object on stdout; progress goes to stderr.  The API used is the
real 0.6.0 one (read from its ``db_queue.py``): ``DatabaseQueue(connection_string,
worker_id=...)``, ``enqueue(features, labels=None, priorities=None)``,
``pop(timeout=600) -> (id, data)``, ``submit(id, label)``,
``reorder({id: priority})`` (which calls ``set_priorities(ids, priorities)``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import platform
import re
import sys
import time
from collections import Counter
from importlib import metadata
from multiprocessing.queues import Queue as MPQueue
from multiprocessing.synchronize import Barrier
from typing import Any

import numpy as np
import sqlalchemy as sa
from superintendent.db_queue import DatabaseQueue, SuperintendentData

DEFAULT_SCHEMA = "peer_superintendent"
BARRIER_TIMEOUT_S = 300.0
"""Spawned workers import superintendent (ipywidgets, sklearn...): slow on 2 cores."""


def log(message: str) -> None:
    """Progress to stderr, so stdout stays a single JSON object."""
    print(f"[peer superintendent] {message}", file=sys.stderr, flush=True)


def schema_url(url: str, schema: str) -> str:
    """Return ``url`` with ``-csearch_path=<schema>`` added to libpq's ``options``.

    superintendent only takes a connection string, so the schema has to travel in it.
    """
    parsed = sa.engine.make_url(url)
    existing = parsed.query.get("options", "")
    if isinstance(existing, tuple):
        existing = " ".join(existing)
    options = f"{existing} -csearch_path={schema}".strip()
    return parsed.update_query_dict({"options": options}).render_as_string(hide_password=False)


def reset_schema(url: str, schema: str) -> str:
    """Drop and re-create the dedicated schema; return the server version string."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            return str(conn.execute(sa.text("SHOW server_version")).scalar())
    finally:
        engine.dispose()


def drop_schema(url: str, schema: str) -> None:
    """Remove the dedicated schema so a benchmark run leaves nothing behind."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()


def count_rows(queue: DatabaseQueue, where: str = "TRUE") -> int:
    """Count rows of superintendent's table (a sanity check, never timed)."""
    table = SuperintendentData.__tablename__
    with queue.engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {where}")).scalar())


def measure_enqueue(queue: DatabaseQueue, items: int) -> float:
    """Seconds for one ``enqueue`` call of ``items`` short text items."""
    features = [f"item {i}: a short text to label" for i in range(items)]
    start = time.perf_counter()
    queue.enqueue(features)
    elapsed = time.perf_counter() - start
    stored = count_rows(queue)
    if stored != items:
        raise RuntimeError(f"enqueue stored {stored} rows, expected {items}")
    return elapsed


def measure_pop_submit(queue: DatabaseQueue, rounds: int) -> list[float]:
    """Milliseconds of each pop + submit pair, one worker, sequential."""
    latencies: list[float] = []
    for i in range(rounds):
        start = time.perf_counter()
        id_, _ = queue.pop()
        queue.submit(id_, f"label {i % 3}")
        latencies.append((time.perf_counter() - start) * 1000.0)
    return latencies


def concurrent_popper(
    url: str, worker_id: str, pops: int, barrier: Barrier, results: MPQueue
) -> None:
    """One spawned worker: pop ``pops`` items without submitting, report the ids.

    The connection is opened before the barrier so that all workers race on pop
    itself, not on process start-up or connecting.
    """
    try:
        queue = DatabaseQueue(connection_string=url, worker_id=worker_id)
        with queue.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        barrier.wait(timeout=BARRIER_TIMEOUT_S)
        ids = [queue.pop()[0] for _ in range(pops)]
        results.put((worker_id, ids, None))
    except Exception as exc:  # reported to the parent, which fails the run
        results.put((worker_id, [], f"{type(exc).__name__}: {exc}"))


def measure_concurrent_pops(url: str, workers: int, pops: int) -> dict[str, Any]:
    """Run ``workers`` processes popping at once; count ids handed out more than once."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(workers + 1)
    results: MPQueue = ctx.Queue()
    procs = [
        ctx.Process(
            target=concurrent_popper,
            args=(url, f"bench-worker-{n}", pops, barrier, results),
            daemon=True,
        )
        for n in range(workers)
    ]
    for proc in procs:
        proc.start()
    barrier.wait(timeout=BARRIER_TIMEOUT_S)  # every worker is connected: go
    start = time.perf_counter()
    collected = [results.get(timeout=BARRIER_TIMEOUT_S) for _ in procs]
    elapsed = time.perf_counter() - start
    for proc in procs:
        proc.join(timeout=30)
    errors = [f"{wid}: {err}" for wid, _, err in collected if err]
    if errors:
        raise RuntimeError("concurrent workers failed: " + "; ".join(errors))
    handed_out = [id_ for _, ids, _ in collected for id_ in ids]
    counts = Counter(handed_out)
    return {
        "handed_out": len(handed_out),
        "unique_ids": len(counts),
        # Hand-outs beyond the first of each id: 0 for a correct queue.
        "duplicate_handouts": len(handed_out) - len(counts),
        "ids_handed_out_more_than_once": sum(1 for c in counts.values() if c > 1),
        "max_times_one_id_handed_out": max(counts.values(), default=0),
        "seconds": elapsed,
    }


def measure_reorder(queue: DatabaseQueue, reorder: int, seed: int) -> tuple[int, float]:
    """Seconds for ``queue.reorder`` to give ``reorder`` unfinished items new priorities.

    Like superintendent's own retrain, it re-orders uncompleted items; picking the ids
    is not timed.  Returns (items actually re-ordered, seconds).
    """
    table = SuperintendentData.__tablename__
    with queue.engine.connect() as conn:
        ids = [
            int(row[0])
            for row in conn.execute(
                sa.text(f"SELECT id FROM {table} WHERE completed_at IS NULL ORDER BY id LIMIT :n"),
                {"n": reorder},
            )
        ]
    if len(ids) < reorder:
        log(f"only {len(ids)} uncompleted items to re-order (asked for {reorder})")
    priorities = np.random.default_rng(seed).permutation(len(ids)).tolist()
    new_order = dict(zip(ids, priorities))
    start = time.perf_counter()
    queue.reorder(new_order)
    elapsed = time.perf_counter() - start
    prioritised = count_rows(queue, "priority IS NOT NULL")
    if prioritised != len(ids):
        raise RuntimeError(f"reorder set {prioritised} priorities, expected {len(ids)}")
    return len(ids), elapsed


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run every measurement in order on a fresh schema and return the results."""
    wall = time.perf_counter()
    server_version = reset_schema(args.url, args.schema)
    url = schema_url(args.url, args.schema)
    queue = DatabaseQueue(connection_string=url, worker_id="bench-sequential")
    try:
        log(f"enqueue {args.items} items")
        enqueue_s = measure_enqueue(queue, args.items)
        log(f"enqueue took {enqueue_s:.2f} s; {args.sequential_pops} sequential pop+submit")
        latencies = measure_pop_submit(queue, args.sequential_pops)
        log(
            f"{args.concurrency_workers} workers x {args.pops_per_worker} concurrent pops"
        )
        concurrency = measure_concurrent_pops(
            url, args.concurrency_workers, args.pops_per_worker
        )
        log(f"{concurrency['duplicate_handouts']} duplicate hand-outs; re-order {args.reorder}")
        reordered, reorder_s = measure_reorder(queue, args.reorder, args.seed)
        log(f"re-order took {reorder_s:.2f} s")
    finally:
        queue.engine.dispose()
        if not args.keep_schema:
            drop_schema(args.url, args.schema)
    return {
        "implementation": "superintendent.db_queue.DatabaseQueue",
        "versions": {
            "superintendent": metadata.version("superintendent"),
            "sqlmodel": metadata.version("sqlmodel"),
            "sqlalchemy": sa.__version__,
            "psycopg2": metadata.version("psycopg2-binary"),
            "python": platform.python_version(),
            "postgresql": server_version,
        },
        "items": args.items,
        "enqueue_s": round(enqueue_s, 4),
        "pop_submit_rounds": len(latencies),
        "pop_submit_p50_ms": round(float(np.percentile(latencies, 50)), 3),
        "pop_submit_p99_ms": round(float(np.percentile(latencies, 99)), 3),
        "pop_submit_mean_ms": round(float(np.mean(latencies)), 3),
        "concurrency_workers": args.concurrency_workers,
        "pops_per_worker": args.pops_per_worker,
        "concurrent_handed_out": concurrency["handed_out"],
        "concurrent_unique_ids": concurrency["unique_ids"],
        "duplicate_handouts": concurrency["duplicate_handouts"],
        "ids_handed_out_more_than_once": concurrency["ids_handed_out_more_than_once"],
        "max_times_one_id_handed_out": concurrency["max_times_one_id_handed_out"],
        "concurrent_pops_s": round(concurrency["seconds"], 4),
        "reorder_items": reordered,
        "reorder_s": round(reorder_s, 4),
        "wall_s": round(time.perf_counter() - wall, 2),
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """CLI shared with ``benchmarks/peer.py``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="SQLAlchemy PostgreSQL URL")
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--concurrency-workers", type=int, default=8)
    parser.add_argument("--pops-per-worker", type=int, default=50)
    parser.add_argument("--reorder", type=int, default=9_600)
    parser.add_argument("--sequential-pops", type=int, default=200)
    parser.add_argument("--schema", default=DEFAULT_SCHEMA)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--keep-schema", action="store_true", help="leave the schema for inspection"
    )
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", args.schema):
        parser.error("--schema must be a plain lower-case identifier")
    needed = args.sequential_pops + args.concurrency_workers * args.pops_per_worker
    if args.items < needed:
        parser.error(f"--items must be at least {needed} to cover every pop")
    return args


def main(argv: list[str] | None = None) -> None:
    """Keep stdout clean (anything printed goes to stderr), then emit the JSON."""
    args = parse_args(argv)
    with contextlib.redirect_stdout(sys.stderr):
        result = run(args)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
