"""An annotation file onto items already in a project (labelling.setup.annotation_files `onto_existing`,
labelling.learning.imported with an annotation format) against the peer of the same run and database: the
same file's items added anew with their labels (`Store.add_items(labels=...)`, the bulk path). Span JSONL,
one span each; every item matched by its text, every label checked against it.

    python benchmarks/attach_bench.py            # 5,000 texts on SQLite and PostgreSQL
    python benchmarks/attach_bench.py --quick    # 1,000

Prints a Markdown table: seconds per import and, in brackets, the ratio to the peer.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from labelling import Store  # noqa: E402
from labelling.learning.imported import import_predictions  # noqa: E402
from labelling.setup.annotation_files import import_annotations  # noqa: E402
from queue_bench import table_on_both  # noqa: E402

SPANS = {"task": "spans", "settings": {"text_column": "text"}}


def texts(n: int) -> list[str]:
    return [f"Ann Lee {k} works at Acme Corp in Zurich since 2019." for k in range(n)]


def span_file(n: int) -> str:
    span = {"start": 0, "end": 7, "label": "PER", "score": 0.5}
    return "".join(json.dumps({"text": t, "spans": [span]}) + "\n" for t in texts(n))


def run(url: str, n: int) -> list[tuple[str, float]]:
    store = Store.connect(url)
    source = span_file(n)
    try:
        timed = []
        peer = store.create_project("peer", ["PER"], **SPANS)
        start = time.perf_counter()
        import_annotations(store, source, "spans-jsonl", project=peer.id)
        timed.append(("add the file's items with their labels (peer)", time.perf_counter() - start))
        for what, attach in (
            (
                "labels onto existing items",
                lambda p: import_annotations(store, source, "spans-jsonl", project=p, onto_existing=True),
            ),
            (
                "predictions onto existing items, ordering the queue",
                lambda p: import_predictions(store, p, source, format="spans-jsonl"),
            ),
        ):
            project = store.create_project(what, ["PER"], **SPANS)
            store.add_items(project.id, [{"text": t} for t in texts(n)])
            start = time.perf_counter()
            attach(project.id)
            timed.append((what, time.perf_counter() - start))
        return timed
    finally:
        store.close()


def measure(url: str, n: int) -> dict[str, str]:
    """Each import's seconds and its ratio to the peer (the first row)."""
    rows = run(url, n)
    return {what: f"{seconds:.2f} s ({seconds / rows[0][1]:.1f}x)" for what, seconds in rows}


def main() -> None:
    table_on_both(measure, __doc__, full=5_000, quick=1_000, what="span JSONL lines")


if __name__ == "__main__":
    main()
