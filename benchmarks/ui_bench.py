"""UI figures for the README: click a label -> the next item shown, and the first load of the Label page.

    python benchmarks/ui_bench.py                  # 1,000,000 items, 100 clicks each (about 2 minutes)
    python benchmarks/ui_bench.py --items 20000    # a smoke run of the same code
    python benchmarks/ui_bench.py --items 20000 --boxes   # also a box project: Submit -> next image shown

Sets up a project of short-text items in a fresh PostgreSQL schema (dropped afterwards), starts the real
app as the image serves it (`streamlit run server.py`, which warms up before it answers) on it with an
admin password and one invited labeller, and drives Debian's Chromium headless through Playwright. In the
same run it starts the floor: a one-button Streamlit app that does nothing else (a button whose callback
increments a counter shown as text).

With --boxes, a third app on a project of small images to draw boxes on (`task="boxes"`, items as
`data:` PNGs, each different) is clicked in the same rounds: Submit (no box drawn) -> the next image
shown (the editor's `<img>` gets its new address), compared with the Label page of the text project.

All are measured the same way, in the page: `performance.now()` at the click's mousedown, a
MutationObserver sees the text change, and the time of the next animation frame after it is the time
the new text is shown. Between clicks the page settles
(`[data-testid='stApp'][data-test-script-state='notRunning']`). The two apps are clicked in alternating
rounds so that drift on the machine falls on both alike. Prints a Markdown table on stdout; progress on
stderr.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote, urlencode

import numpy as np
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "e2e"))  # the app start-up the end-to-end tests use

from _streamlit_server import CHROMIUM, CHROMIUM_ARGS, streamlit_server  # noqa: E402
from labelling import Store  # noqa: E402

POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
ADMIN_PASSWORD = "ui-bench-admin-password"
LABELLER = "bench-labeller"
LABELS = ["positive", "negative", "neutral"]
CHUNK_ROWS = 50_000
STEP_MS = 30_000
ROUNDS = 10
WARM_UP_CLICKS = 5
FIRST_LOADS = 5
TARGET_RATIO = 1.0
"""Click -> next item shown: ours at most the one-button floor's p50, in the same run."""
TARGET_FIRST_PAGE_RATIO = 2.0
"""A fresh process's first page (and a fresh tab's): at most twice the floor app's, in the same run."""
STUCK = REPO / "artifacts" / "ui_bench_stuck.png"
"""A screenshot of the page when a click did not change the text (artifacts/ is not committed)."""

READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
ITEM_TEXT = ".st-key-item [data-testid='stText']"
LABEL_BUTTON = ".st-key-label-0 button"
BOX_IMAGE = ".st-key-item .annot-stage img"
SUBMIT_BUTTON = ".st-key-submit button"
BOX_CLASSES = ["head", "hand"]
BOX_ITEMS = 2_000
"""Box projects are small in practice (a few thousand images); each item is a distinct 64x48 PNG."""
FLOOR_TEXT = ".st-key-count [data-testid='stText']"
FLOOR_BUTTON = ".st-key-add button"

FLOOR_APP = '''\
import streamlit as st

if "count" not in st.session_state:
    st.session_state.count = 0


def add_one():
    st.session_state.count += 1


st.button("Add one", key="add", on_click=add_one)
with st.container(key="count"):
    st.text(f"Clicked {st.session_state.count} times")
'''

# Installed in every page before its own scripts run: the time (from navigation start) at which the
# item first appears, and a probe that times one click to a change of it: its text, or an <img>'s address.
PROBE = """
(() => {
  const bench = (window.__bench = { firstShown: null, firstFrame: null, down: null, shown: null, frame: null });
  const shown = (element) => element && (element.tagName === "IMG" ? element.getAttribute("src") : element.textContent);
  const firstText = "%s";
  const first = new MutationObserver(() => {
    const element = document.querySelector(firstText);
    if (bench.firstShown === null && shown(element)) {
      bench.firstShown = performance.now();
      first.disconnect();
      requestAnimationFrame(() => { bench.firstFrame = performance.now(); });
    }
  });
  first.observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
  window.addEventListener("mousedown", () => { if (bench.down === null) bench.down = performance.now(); }, true);
  bench.arm = (selector) => {
    const before = shown(document.querySelector(selector));
    bench.down = bench.shown = bench.frame = null;
    const watch = new MutationObserver(() => {
      const element = document.querySelector(selector);
      const now = shown(element);
      if (bench.down !== null && now && now !== before) {
        bench.shown = performance.now();
        watch.disconnect();
        requestAnimationFrame(() => { bench.frame = performance.now(); });
      }
    });
    watch.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
    return before;
  };
  bench.shownNow = (selector) => shown(document.querySelector(selector));
})();
"""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextmanager
def schema(server: str, prefix: str = "uibench"):
    """A fresh PostgreSQL schema, as a URL whose connections live in it; dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {name}")
    separator = "&" if "?" in server else "?"
    try:
        yield f"{server}{separator}options={quote(f'-csearch_path={name}')}"
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {name} CASCADE")
        admin.dispose()


def texts(n: int):
    """Short product-review-like texts, made lazily chunk by chunk."""
    for start in range(0, n, CHUNK_ROWS):
        yield [f"Review {i}: arrived on time, works well, would buy again." for i in range(start, min(start + CHUNK_ROWS, n))]


def set_up(url: str, n: int) -> tuple[float, str]:
    """A text project of `n` items and an invited labeller; returns the seconds the items took and the token."""
    store = Store.connect(url)
    try:
        project = store.create_project(
            "UI benchmark",
            LABELS,
            instructions="Choose the sentiment of the review.",
            settings={"display": "text", "text_column": None, "feature_columns": [], "label_column": None},
        )
        started = time.perf_counter()
        store.add_items(project.id, texts(n))
        seconds = time.perf_counter() - started
        _person, token = store.people.add(LABELLER)
    finally:
        store.close()
    return seconds, token


def box_images(n: int):
    """`n` distinct small PNG images as `data:` URIs (a bar at a position that encodes the number)."""
    import base64
    import io

    from PIL import Image

    for i in range(n):
        pixels = np.full((48, 64, 3), 230, dtype=np.uint8)
        pixels[(i // 64) % 48, :, 0] = 40
        pixels[:, i % 64, 2] = 40
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="PNG")
        yield {"image": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()}


def set_up_boxes(url: str) -> str:
    """A box project of BOX_ITEMS images and an invited labeller; returns the token."""
    store = Store.connect(url)
    try:
        project = store.create_project(
            "UI benchmark boxes", BOX_CLASSES, task="boxes", settings={"display": "image", "image_column": "image"}
        )
        store.add_items(project.id, list(box_images(BOX_ITEMS)))
        _person, token = store.people.add(LABELLER)
    finally:
        store.close()
    return token


@contextmanager
def streamlit(script: Path, env: dict[str, str], log_path: Path):
    """`streamlit run script` on a free port, from the repository (its .streamlit/config.toml applies); on
    any failure the last lines of its log go to stderr."""
    try:
        with streamlit_server(script, env, log_path) as (url, _process):
            yield url
    except BaseException:
        log(f"--- {log_path.name}, last lines ---\n" + "\n".join(log_path.read_text().splitlines()[-40:]))
        raise


class Clicker:
    """One browser page of one app: click `button`, time until `text` changes, then let the page settle."""

    def __init__(self, browser, url: str, text: str, button: str):
        self.context = browser.new_context(viewport={"width": 1280, "height": 800})
        self.context.add_init_script(PROBE % text)
        self.page = self.context.new_page()
        self.text, self.button = text, button
        self.page.goto(url)
        self.page.wait_for_selector(text, timeout=STEP_MS)
        self.page.wait_for_selector(READY, timeout=STEP_MS)
        self.in_page: list[float] = []
        self.wall: list[float] = []

    def click(self, record: bool = True) -> None:
        page = self.page
        before = page.evaluate("(selector) => window.__bench.arm(selector)", self.text)
        started = time.perf_counter()
        page.locator(self.button).click()
        try:
            page.wait_for_function("() => window.__bench.frame !== null", timeout=STEP_MS)
        except Exception:
            STUCK.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(STUCK))
            now = page.evaluate("(selector) => window.__bench.shownNow(selector)", self.text)
            raise RuntimeError(f"the text did not change after a click on {page.url}: {before!r} -> {now!r}; see {STUCK}")
        wall = (time.perf_counter() - started) * 1000
        down, frame, after = page.evaluate(
            "(selector) => [window.__bench.down, window.__bench.frame, window.__bench.shownNow(selector)]", self.text
        )
        assert after != before, (before, after)
        page.wait_for_selector(READY, timeout=STEP_MS)
        if record:
            self.in_page.append(frame - down)
            self.wall.append(wall)

    def close(self) -> None:
        self.context.close()


def first_load(browser, url: str, text: str = ITEM_TEXT) -> float:
    """Navigation start -> `text` shown (the next frame after it appears), in a fresh browser context."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(PROBE % text)
    page = context.new_page()
    try:
        page.goto(url)
        page.wait_for_function("() => window.__bench.firstFrame !== null", timeout=STEP_MS)
        return page.evaluate("() => window.__bench.firstFrame")
    finally:
        context.close()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def table(rows: list[tuple[str, str, str]]) -> str:
    lines = ["| measure | value | target |", "|---|---|---|"]
    lines += [f"| {a} | {b} | {c} |" for a, b, c in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL", POSTGRES))
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--clicks", type=int, default=100, help="measured clicks per app")
    parser.add_argument("--boxes", action="store_true", help="also click Submit on a box project (same rounds)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    run_started = time.perf_counter()
    per_round = -(-args.clicks // ROUNDS)
    with (
        schema(args.postgres) as url,
        schema(args.postgres) as boxes_url,
        tempfile.TemporaryDirectory() as folder,
        ExitStack() as optional,
    ):
        folder = Path(folder)
        log(f"adding {args.items:,} short-text items to a fresh schema")
        ingest_seconds, token = set_up(url, args.items)
        log(f"  {ingest_seconds:.1f} s")
        floor_script = folder / "one_button.py"
        floor_script.write_text(FLOOR_APP)
        app_env = {"DATABASE_URL": url, "LABELLING_ADMIN_PASSWORD": ADMIN_PASSWORD, "OMP_NUM_THREADS": "1"}
        with (
            streamlit(REPO / "server.py", app_env, folder / "app.log") as app_url,
            streamlit(floor_script, {"OMP_NUM_THREADS": "1"}, folder / "floor.log") as floor_url,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            clickers = {}
            if args.boxes:
                log(f"a box project of {BOX_ITEMS:,} images")
                boxes_token = set_up_boxes(boxes_url)
                boxes_app = optional.enter_context(
                    streamlit(REPO / "streamlit_app.py", {**app_env, "DATABASE_URL": boxes_url}, folder / "boxes.log")
                )
                boxes_invite = f"{boxes_app}/?{urlencode({'token': boxes_token})}"
                clickers["boxes"] = Clicker(browser, boxes_invite, BOX_IMAGE, SUBMIT_BUTTON)
            invite = f"{app_url}/?{urlencode({'token': token})}"
            log("first loads of the Label page")
            cold = first_load(browser, invite)
            loads = [first_load(browser, invite) for _ in range(FIRST_LOADS)]
            log(f"  cold {cold:.0f} ms, then {', '.join(f'{v:.0f}' for v in loads)} ms")
            floor_cold = first_load(browser, floor_url, FLOOR_TEXT)
            floor_loads = [first_load(browser, floor_url, FLOOR_TEXT) for _ in range(FIRST_LOADS)]
            log(f"  floor: cold {floor_cold:.0f} ms, then {', '.join(f'{v:.0f}' for v in floor_loads)} ms")
            ours = Clicker(browser, invite, ITEM_TEXT, LABEL_BUTTON)
            floor = Clicker(browser, floor_url, FLOOR_TEXT, FLOOR_BUTTON)
            clickers = {"floor": floor, "ours": ours, **clickers}
            for clicker in clickers.values():
                for _ in range(WARM_UP_CLICKS):
                    clicker.click(record=False)
            for round_ in range(ROUNDS):
                order = list(clickers.values())
                for clicker in order if round_ % 2 == 0 else order[::-1]:
                    for _ in range(min(per_round, args.clicks - len(clicker.in_page))):
                        clicker.click()
                log(
                    f"  round {round_ + 1}/{ROUNDS}: "
                    + ", ".join(f"{name} p50 {statistics.median(c.in_page):.0f} ms" for name, c in clickers.items())
                )
            for name, clicker in clickers.items():
                log(f"  {name} in-page ms, in click order: {' '.join(f'{v:.0f}' for v in clicker.in_page)}")
                clicker.close()
            browser.close()

    f50, f90 = percentile(floor.in_page, 50), percentile(floor.in_page, 90)
    o50, o90 = percentile(ours.in_page, 50), percentile(ours.in_page, 90)
    ratio = o50 / f50
    load, floor_load = statistics.median(loads), statistics.median(floor_loads)
    cold_ratio, load_ratio = cold / floor_cold, load / floor_load
    n = len(ours.in_page)
    rows = [
        (f"floor: one-button Streamlit app, click -> text updated, p50 / p90 of {len(floor.in_page)}",
         f"{f50:.0f} / {f90:.0f} ms", ""),
        (f"ours: Label page, {args.items:,} items on PostgreSQL, click a label -> next item shown, p50 / p90 of {n}",
         f"{o50:.0f} / {o90:.0f} ms", ""),
        ("ratio of p50s (ours / floor)", f"{ratio:.2f}x", f"≤ {TARGET_RATIO}x {'✓' if ratio <= TARGET_RATIO else '✗'}"),
        ("first load, the server process's very first page (navigation start -> item text shown)",
         f"{cold:,.0f} ms ({cold_ratio:.2f}x floor)",
         f"≤ {TARGET_FIRST_PAGE_RATIO}x floor {'✓' if cold_ratio <= TARGET_FIRST_PAGE_RATIO else '✗'}"),
        (f"first load of the Label page, median of {FIRST_LOADS} later fresh tabs",
         f"{load:,.0f} ms ({load_ratio:.2f}x floor)",
         f"≤ {TARGET_FIRST_PAGE_RATIO}x floor {'✓' if load_ratio <= TARGET_FIRST_PAGE_RATIO else '✗'}"),
        (f"floor's first load (navigation start -> text shown): its process's first / median of {FIRST_LOADS}",
         f"{floor_cold:,.0f} / {floor_load:,.0f} ms", ""),
        ("same clicks timed from Python (click() + wait), p50 floor / ours",
         f"{percentile(floor.wall, 50):.0f} / {percentile(ours.wall, 50):.0f} ms", ""),
    ]
    if "boxes" in clickers:
        boxes = clickers["boxes"].in_page
        b50, b90 = percentile(boxes, 50), percentile(boxes, 90)
        box_ratio = b50 / o50
        rows[3:3] = [
            (f"ours: Label page of a box project ({BOX_ITEMS:,} images), Submit -> next image shown, p50 / p90 of "
             f"{len(boxes)}", f"{b50:.0f} / {b90:.0f} ms", ""),
            ("ratio of p50s (box project / classification page)", f"{box_ratio:.2f}x",
             f"≤ {TARGET_RATIO}x {'✓' if box_ratio <= TARGET_RATIO else '✗'}"),
        ]
    print(table(rows))
    print(
        f"\nStreamlit 1.67, headless Chromium via Playwright, {os.cpu_count()} cores; items added in "
        f"{ingest_seconds:.1f} s; whole run {time.perf_counter() - run_started:.0f} s."
    )


if __name__ == "__main__":
    main()
