"""What the Export page's "Download for other tools" costs when opened: reading the final labels
(`Store.export`, the floor: the page needs them to say anything), checking which formats they block
(`writable.refusals`, what the page adds) and, the peer, building every file of the task (what an eager page
would do on each visit, instead of on a click). A box project (from COCO) and a span project (from span
JSONL) of N items, each labelled, on PostgreSQL and SQLite, in one run.

    python benchmarks/export_check_bench.py            # 20,000 items
    python benchmarks/export_check_bench.py --quick    # 2,000

Prints a Markdown table: the median of REPEATS timings of each step.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from labelling import Store  # noqa: E402
from labelling.io import formats, writable  # noqa: E402
from labelling.setup.annotation_files import import_annotations  # noqa: E402
from queue_bench import table_on_both  # noqa: E402

REPEATS = 5
TEXT = "Ann Lee works at Acme Corp in Zurich since 2019 and Bob Smith at Initech in Geneva."
SPANS = [[0, 7, "PER"], [17, 26, "ORG"], [30, 36, "LOC"], [52, 61, "PER"], [65, 72, "ORG"], [76, 82, "LOC"]]


def files(n: int) -> dict[str, bytes]:
    """A COCO file of n images with three boxes each, and a span JSONL file of n texts with six spans each."""
    coco = {
        "images": [{"id": i, "file_name": f"photos/{i}.jpg", "width": 640, "height": 480} for i in range(n)],
        "categories": [{"id": 1, "name": "cat"}, {"id": 2, "name": "dog"}],
        "annotations": [
            {"id": 3 * i + k, "image_id": i, "category_id": 1 + k % 2, "bbox": [10 * k, 20, 100, 50]}
            for i in range(n)
            for k in range(3)
        ],
    }
    spans = "".join(json.dumps({"text": TEXT, "spans": SPANS}) + "\n" for _ in range(n))
    return {"coco": json.dumps(coco).encode(), "spans-jsonl": spans.encode()}


def median_seconds(call) -> float:
    timings = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        call()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def steps(store: Store, kind: str, data: bytes) -> dict[str, float]:
    """The three timings of one project made from `data` (a `kind` file)."""
    project, _ = import_annotations(store, data, kind, project=kind, create=True)
    frame = store.export(project.id)
    assert writable.refusals(project, frame) == {}  # the whole check runs: nothing stops it early
    writers = [formats.EXPORTS[name][1] for name in formats.exports_for(project.options.task)]
    return {
        f"{kind}: read the final labels (floor)": median_seconds(lambda: store.export(project.id)),
        f"{kind}: refusals (the check)": median_seconds(lambda: writable.refusals(project, frame)),
        f"{kind}: build every file (peer)": median_seconds(lambda: [write(project, frame) for write in writers]),
    }


def measure(url: str, n: int) -> dict[str, str]:
    store = Store.connect(url)
    try:
        results = {step: s for kind, data in files(n).items() for step, s in steps(store, kind, data).items()}
    finally:
        store.close()
    return {step: f"{seconds * 1000:,.0f} ms" for step, seconds in results.items()}


def main() -> None:
    table_on_both(measure, __doc__, full=20_000, quick=2_000)

if __name__ == "__main__":
    main()
