"""Label-version figures: what "Save a version" costs against reading the final labels it freezes (the floor:
a save must read them) and against the full export (the peer: what a copy of the labels per version would
build), with the rows each save writes, at 100,000 labelled items on PostgreSQL and SQLite; and what the
Label page's "My recent items" costs when opened (it is read only then), against a click's `submit_and_next`.

    python benchmarks/versions_bench.py            # 100,000 items
    python benchmarks/versions_bench.py --quick    # 10,000 items: a smoke run of the same code

Steps per database, one run: import the items with one label each; time `Store.final_labels` (floor) and
`Store.export` (peer); save version 1 (every item written); save version 2 unchanged (nothing written); mark
1% of the items gold with another label and save version 3 (1% written); export version 1 again and check
its bytes did not move; then a labeller labels CLICKS items, each click timed, and their recent items read after
each (p50 of each). Prints a Markdown table.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from labelling import Store  # noqa: E402
from labelling.io.export import to_parquet  # noqa: E402
from labelling.storage.engine import read  # noqa: E402
from labelling.storage.schema import version_labels  # noqa: E402
from queue_bench import table_on_both  # noqa: E402

CHANGED_SHARE = 0.01
"""Share of items whose final label changes between version 2 and version 3."""
CLICKS = 300
"""Labels given, one click each, to time submit_and_next and the recent items read after it."""


def seconds(call):
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def rows(store: Store) -> int:
    with read(store.engine) as connection:
        return connection.execute(select(func.count()).select_from(version_labels)).scalar_one()


def measure(url: str, n: int) -> dict[str, str]:
    store = Store.connect(url)
    try:
        project = store.create_project("bench", ["a", "b", "c"])
        store.add_items(project.id, [f"review {i}" for i in range(n)], labels=["abc"[i % 3] for i in range(n)])
        floor, _ = seconds(lambda: store.final_labels(project.id))
        peer, _ = seconds(lambda: store.export(project.id))
        first_s, first = seconds(lambda: store.versions.save(project.id, "v1", "admin"))
        first_rows = rows(store)
        before = to_parquet(store.versions.export(project.id, first.id))
        same_s, _ = seconds(lambda: store.versions.save(project.id, "v2", "admin"))
        same_rows = rows(store) - first_rows
        ids = store.final_labels(project.id)["item_id"].tolist()[:: int(1 / CHANGED_SHARE)]
        store.set_gold(project.id, ids, ["b" if i % 3 == 0 else "a" for i in range(len(ids))])
        changed_s, _ = seconds(lambda: store.versions.save(project.id, "v3", "admin"))
        changed_rows = rows(store) - first_rows - same_rows
        export_s, frame = seconds(lambda: store.versions.export(project.id, first.id))
        assert to_parquet(frame) == before, "version 1's export moved"
        diff_s, diff = seconds(lambda: store.versions.diff(project.id, first.id, None))
        fresh = store.create_project("clicks", ["a", "b"])
        store.add_items(fresh.id, [f"review {i}" for i in range(n)])
        item = store.next_item(fresh.id, "alice")
        clicks, recent = [], []
        for i in range(CLICKS):
            started = time.perf_counter()
            _, item = store.submit_and_next(fresh.id, item.id, "alice", "ab"[i % 2])
            clicks.append(time.perf_counter() - started)
            recent.append(seconds(lambda: store.history.recent(fresh.id, "alice"))[0])
        return {
            "final_labels (floor)": f"{floor:.2f} s",
            "export (peer)": f"{peer:.2f} s",
            "save v1": f"{first_s:.2f} s, {first_rows:,} rows",
            "save v2 (unchanged)": f"{same_s:.2f} s, {same_rows:,} rows",
            f"save v3 ({CHANGED_SHARE:.0%} changed)": f"{changed_s:.2f} s, {changed_rows:,} rows",
            "export v1 (bytes unchanged)": f"{export_s:.2f} s",
            "diff v1 -> current": f"{diff_s:.2f} s, {len(diff.changed):,} changed",
            "click: submit_and_next p50 (peer)": f"{statistics.median(clicks) * 1000:.2f} ms",
            "my recent items (10), read on opening, p50": f"{statistics.median(recent) * 1000:.2f} ms",
        }
    finally:
        store.close()


def main() -> None:
    table_on_both(measure, __doc__, full=100_000, quick=10_000)

if __name__ == "__main__":
    main()
