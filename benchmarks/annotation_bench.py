"""Box and span labels against classification, as the Label page clicks (`submit_and_next`), same run, same
database: what checking a box against its image (a `data:` PNG the server decodes, or a file under the
media folders it reads the header of) and a span against its text adds per label. The floor is the
classification project of the same run.

    python benchmarks/annotation_bench.py            # 1,000 labels per kind on SQLite and PostgreSQL
    python benchmarks/annotation_bench.py --quick    # 200

Prints a Markdown table: p50 and p90 milliseconds per label and the ratio to classification.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from labelling import Store  # noqa: E402
from queue_bench import POSTGRES, Schema  # noqa: E402

IMAGE_SIZE = (640, 480)
TEXT = "Ann Lee works at Acme Corp in Zurich since 2019; " * 4
BOX = {"width": IMAGE_SIZE[0], "height": IMAGE_SIZE[1], "boxes": [{"x": 10, "y": 20, "w": 100, "h": 50, "label": "b"}]}
SPANS = {"spans": [{"start": 0, "end": 7, "label": "b"}, {"start": 17, "end": 26, "label": "a"}]}


def png() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (*IMAGE_SIZE[::-1], 3), dtype=np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def kinds(folder: Path) -> dict[str, tuple[dict, list, object]]:
    """name: (create_project options, items, label); each box or span kind follows the classification of
    the same items, its floor."""
    body = png()
    (folder / "x.png").write_bytes(body)
    uri = [{"image": "data:image/png;base64," + base64.b64encode(body).decode()}]
    file = [{"image": str(folder / "x.png")}]
    boxes = {"task": "boxes", "settings": {"image_column": "image"}}
    return {
        "classify, text": ({}, [{"text": TEXT}], "a"),
        "spans": ({"task": "spans", "settings": {"text_column": "text"}}, [{"text": TEXT}], SPANS),
        "classify, data: PNG (920 kB)": ({}, uri, "a"),
        "boxes, data: PNG (920 kB)": (boxes, uri, BOX),
        "classify, media file": ({}, file, "a"),
        "boxes, media file": (boxes, file, BOX),
    }


def measure(store: Store, name: str, options: dict, item: list, label: object, n: int) -> np.ndarray:
    project = store.create_project(name, ["a", "b"], **options)
    store.add_items(project.id, item * (n + 1))
    current = store.next_item(project.id, "bench")
    times = []
    for _ in range(n):
        start = time.perf_counter()
        _, current = store.submit_and_next(project.id, current.id, "bench", label)
        times.append(time.perf_counter() - start)
    return np.array(times) * 1000


def run(url: str, n: int, folder: Path) -> list[tuple[str, float, float]]:
    store = Store.connect(url)
    store.item_labels.media_roots = (folder.resolve(),)
    try:
        rows = []
        for name, (options, item, label) in kinds(folder).items():
            found = measure(store, name, options, item, label, n)
            rows.append((name, float(np.percentile(found, 50)), float(np.percentile(found, 90))))
        return rows
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL", POSTGRES))
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n = 200 if args.quick else 1_000
    print(f"| database | kind | p50 ms | p90 ms | p50 / classification of the same items |  ({n:,} labels each)")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        with Schema(args.postgres) as postgres:
            for database, url in (("SQLite", f"sqlite:///{folder}/bench.db"), ("PostgreSQL", postgres)):
                floor = 0.0
                for kind, p50, p90 in run(url, n, Path(folder)):
                    floor = p50 if kind.startswith("classify") else floor
                    print(f"| {database} | {kind} | {p50:.2f} | {p90:.2f} | {p50 / floor:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
