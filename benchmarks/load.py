"""Load figures for hosting: many labellers at once, through the library and through real browsers.

    python benchmarks/load.py                   # 1 library labeller (the floor), 50 flat out and 50 paced,
                                                # then 1 browser, and 8 on one and on two app processes,
                                                # flat out and at a person's pace (~10 min)
    python benchmarks/load.py --quick           # a smoke run of the same code
    python benchmarks/load.py --no-browsers     # the library part only

Library part: N labeller processes (forked, each with its own engine) call next_item + submit against
PostgreSQL for a fixed time once all have connected; `--think` adds a random pause between items (a person
reading), exponential with that mean. Prints labels/s and the next+submit latency p50/p99.

Browser part: the real app (`streamlit run streamlit_app.py`) on one or two processes against the same
PostgreSQL; M invited labellers in headless Chromium (one context each, spread over the processes) click
the first label as soon as each item shows (flat out), or after a random pause like the library part's
(`--browser-think`, default 1 s mean), for a fixed time. Click-to-next is timed in the page: from the
click's mousedown to the animation frame after the item's text changed. Each app process's CPU (from
/proc/<pid>/stat, share of one core) and resident memory (/proc/<pid>/status) are read around the window;
memory per session is the growth from the idle process. The browsers run on the same cores, so their CPU
(every Chromium process this script started) and the whole machine's are printed beside.

The cores are shared with whatever else runs: each run first samples how busy the machine is (printed in
brackets), and a figure taken while others kept it busy says so. Each run works in a PostgreSQL schema of
its own, dropped afterwards. Markdown table on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests" / "e2e"))  # the app start-up the end-to-end tests use

from _streamlit_server import CHROMIUM, CHROMIUM_ARGS, free_port, healthy  # noqa: E402
from labelling import Store  # noqa: E402
# The same database and logging helpers as the UI benchmark:
from ui_bench import POSTGRES, log, schema  # noqa: E402

LABELS = ["positive", "negative", "neutral"]
ADMIN_PASSWORD = "load-bench-admin-password"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
STARTUP_SECONDS = 90
STEP_MS = 60_000
WARM_UP_OPS = 5
WARM_UP_CLICKS = 3
TARGET_P99_MS = 20.0
BEFORE_SECONDS = 3.0
"""The machine's load is sampled this long before each run: the cores are shared."""
ITEM_TEXT = ".st-key-item [data-testid='stText']"
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
# In the page: mousedown time, then the frame after the item's text changes; each duration is pushed.
CLICK_TIMER = """
() => {
  window.__clicks = [];
  let started = null;
  let shown = (document.querySelector("%(item)s") || {}).innerText;
  document.addEventListener("mousedown", () => { started = performance.now(); }, true);
  new MutationObserver(() => {
    const text = (document.querySelector("%(item)s") || {}).innerText;
    if (started !== null && text && text !== shown) {
      const t = started;
      started = null;
      shown = text;
      requestAnimationFrame(() => window.__clicks.push(performance.now() - t));
    }
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}
""" % {"item": ITEM_TEXT}


def texts(n: int, chunk: int = 50_000):
    for start in range(0, n, chunk):
        yield [f"review {i}: arrived on time, works as described" for i in range(start, min(start + chunk, n))]


def new_project(url: str, items: int, tag: str) -> int:
    store = Store.connect(url)
    try:
        project = store.create_project(f"load-{tag}-{uuid.uuid4().hex[:6]}", LABELS)
        store.add_items(project.id, texts(items))
        return project.id
    finally:
        store.close()


# Machine figures from /proc (psutil is not a dependency)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14, 15 of the whole line)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def descendants(root: int) -> list[int]:
    """Every live process below `root` (read from /proc/*/stat's parent ids)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def tree_cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:
            pass  # ended meanwhile
    return total


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def busy_share(seconds: float) -> float:
    """How busy all cores were over the next `seconds` (others' work, when measured before a run)."""
    busy0, total0 = machine_busy()
    time.sleep(seconds)
    busy1, total1 = machine_busy()
    return (busy1 - busy0) / max(total1 - total0, 1)


def percentile(values, q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=float), q)) if len(values) else float("nan")


# Library labellers


def _library_labeller(url: str, project_id: int, name: str, think: float, seconds: float, barrier, results) -> None:
    store = Store.connect(url, upgrade=False)
    rng = random.Random(name)
    for _ in range(WARM_UP_OPS):  # connect, cache the project and the labeller before the clock starts
        item = store.next_item(project_id, name)
        store.submit(project_id, item.id, name, LABELS[item.id % 3])
    barrier.wait()
    deadline = time.monotonic() + seconds
    timings, errors = [], []
    if think:  # people do not all click at the same moment: start each one at a random point of a pause
        time.sleep(rng.expovariate(1 / think))
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            item = store.next_item(project_id, name)
            if item is None:
                errors.append("ran out of items")
                break
            store.submit(project_id, item.id, name, LABELS[item.id % 3])
        except Exception as error:  # counted and printed: any error under load is a finding
            errors.append(f"{type(error).__name__}: {error}"[:200])
            continue
        timings.append(time.perf_counter() - started)
        if think:
            time.sleep(max(0.0, min(rng.expovariate(1 / think), deadline - time.monotonic())))
    results.put((name, timings, errors))
    store.close()


@dataclass
class LibraryResult:
    labellers: int
    think: float
    seconds: float
    labels: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    machine_busy: float
    before_busy: float  # the machine's load from others, just before the run
    client_cpu: float  # cores' worth used by the labeller processes (PostgreSQL's own CPU not included)
    errors: list[str]


def run_library(server: str, labellers: int, think: float, seconds: float, items: int) -> LibraryResult:
    with schema(server, "load") as url:
        project_id = new_project(url, items, f"lib{labellers}")
        log(f"library: {labellers} labellers, think {think:g} s, {seconds:g} s on {items:,} items")
        context = mp.get_context("fork")  # share the imported modules; each child makes its own engine
        barrier = context.Barrier(labellers + 1)
        results = context.Queue()
        processes = [
            context.Process(
                target=_library_labeller, args=(url, project_id, f"lib-{i}", think, seconds, barrier, results)
            )
            for i in range(labellers)
        ]
        for process in processes:
            process.start()
        before = busy_share(BEFORE_SECONDS)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        barrier.wait()
        busy0, total0 = machine_busy()
        collected = [results.get(timeout=seconds + 300) for _ in processes]
        busy1, total1 = machine_busy()
        for process in processes:
            process.join(timeout=60)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        client = (after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime) / seconds
        timings = [t for _, times, _ in collected for t in times]
        errors = [e for _, _, errs in collected for e in errs]
        ms = np.asarray(timings) * 1000
        check = Store.connect(url, upgrade=False)
        try:
            frame = check.annotations(project_id)
        finally:
            check.close()
        assert not frame.duplicated(["item_id", "labeller"]).any(), "a labeller labelled an item twice"
        assert frame["item_id"].is_unique, "an item was handed to two labellers"
        return LibraryResult(
            labellers=labellers,
            think=think,
            seconds=seconds,
            labels=len(timings),
            p50_ms=percentile(ms, 50),
            p99_ms=percentile(ms, 99),
            max_ms=float(ms.max()) if len(ms) else float("nan"),
            machine_busy=(busy1 - busy0) / max(total1 - total0, 1),
            before_busy=before,
            client_cpu=client,
            errors=errors,
        )


# Browser labellers


@contextmanager
def app_processes(url: str, count: int, folder: Path) -> Iterator[list[tuple[str, subprocess.Popen]]]:
    """`count` app server processes on free ports against one database."""
    env = {**os.environ, "DATABASE_URL": url, "LABELLING_ADMIN_PASSWORD": ADMIN_PASSWORD, "OMP_NUM_THREADS": "1",
           "LABELLING_EMBEDDED_WORKER": "0"}
    started = []
    try:
        for i in range(count):
            port = free_port()
            output = open(folder / f"app-{i}.log", "wb")
            process = subprocess.Popen(
                [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.port", str(port),
                 "--server.headless", "true", "--server.address", "127.0.0.1"],
                cwd=REPO, env=env, stdout=output, stderr=subprocess.STDOUT,
            )
            started.append((f"http://127.0.0.1:{port}", process))
        deadline = time.monotonic() + STARTUP_SECONDS
        for address, process in started:
            while not healthy(address):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"app on {address} did not start; see {folder}")
                time.sleep(0.2)  # polling the health endpoint
        yield started
    finally:
        for _, process in started:
            process.terminate()
        for _, process in started:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


async def _browser_labeller(page, seconds_box: dict, clicks: list[float], think: float, seed: int) -> None:
    """Warm up, wait for every browser, then click the first label as soon as each item shows, or after a
    pause of `think` seconds on average (exponential, as in the library part)."""
    rng = random.Random(seed)
    await page.wait_for_selector(ITEM_TEXT, timeout=STEP_MS)
    await page.wait_for_selector(READY, timeout=STEP_MS)
    await page.evaluate(CLICK_TIMER)
    done = 0
    for _ in range(WARM_UP_CLICKS):
        done = await _click(page, done)
    seconds_box["warm"] += 1
    if seconds_box["warm"] == seconds_box["browsers"]:
        seconds_box["all_warm"].set()
    await seconds_box["start"].wait()
    first = done
    if think:  # people do not all click at the same moment: start each one at a random point of a pause
        await asyncio.sleep(rng.expovariate(1 / think))
    while time.monotonic() < seconds_box["deadline"]:
        done = await _click(page, done)
        if think:
            await asyncio.sleep(max(0.0, min(rng.expovariate(1 / think), seconds_box["deadline"] - time.monotonic())))
    durations = await page.evaluate("() => window.__clicks")
    clicks.extend(durations[first:done])


async def _click(page, done: int) -> int:
    await page.locator(".st-key-label-0 button").click()
    await page.wait_for_function("(n) => window.__clicks.length > n", arg=done, timeout=STEP_MS, polling=50)
    await page.wait_for_selector(READY, timeout=STEP_MS)
    return done + 1


@dataclass
class BrowserResult:
    processes: int
    browsers: int
    think: float
    seconds: float
    clicks: int
    p50_ms: float
    p99_ms: float
    app_cpu: list[float]  # share of one core, per process
    app_rss_idle: list[float]
    app_rss_loaded: list[float]
    sessions: list[int]
    browser_cpu: float  # cores' worth, all Chromium processes
    machine_busy: float
    before_busy: float


async def _drive(
    urls: list[str], tokens: list[str], seconds: float, think: float, pids: list[int]
) -> tuple[list[float], dict]:
    from playwright.async_api import async_playwright

    clicks: list[float] = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for url in urls:  # one visit loads the app's modules and engine: the idle figure is then a warm process
            visit = await browser.new_context()
            page = await visit.new_page()
            await page.goto(url)
            await page.get_by_role("heading", name="Sign in").wait_for(timeout=STEP_MS)
            await visit.close()
        idle = [rss_mb(pid) for pid in pids]
        pages = []
        for i, token in enumerate(tokens):
            context = await browser.new_context(viewport={"width": 1100, "height": 900})
            page = await context.new_page()
            await page.goto(f"{urls[i % len(urls)]}/?token={token}")
            pages.append(page)
        box = {"start": asyncio.Event(), "all_warm": asyncio.Event(), "warm": 0, "browsers": len(pages),
               "deadline": float("inf")}
        tasks = [asyncio.create_task(_browser_labeller(page, box, clicks, think, i)) for i, page in enumerate(pages)]
        await box["all_warm"].wait()
        ours = [p for p in descendants(os.getpid()) if p not in pids]
        figures = {
            "rss_idle": idle,
            "cpu": [cpu_seconds(pid) for pid in pids],
            "browser_cpu": tree_cpu_seconds(ours),
            "machine": machine_busy(),
            "wall": time.monotonic(),
        }
        box["deadline"] = time.monotonic() + seconds
        box["start"].set()
        await asyncio.gather(*tasks)
        ours = [p for p in descendants(os.getpid()) if p not in pids]
        figures["elapsed"] = time.monotonic() - figures["wall"]
        figures["cpu"] = [cpu_seconds(pid) - before for pid, before in zip(pids, figures["cpu"])]
        figures["browser_cpu"] = tree_cpu_seconds(ours) - figures["browser_cpu"]
        busy, total = machine_busy()
        figures["machine"] = (busy - figures["machine"][0]) / max(total - figures["machine"][1], 1)
        figures["rss_loaded"] = [rss_mb(pid) for pid in pids]
        await browser.close()
    return clicks, figures


def run_browsers(server: str, processes: int, browsers: int, think: float, seconds: float, items: int) -> BrowserResult:
    with schema(server, "load") as url, tempfile.TemporaryDirectory(prefix="load-bench-") as folder:
        project_id = new_project(url, items, f"ui{processes}x{browsers}")
        store = Store.connect(url, upgrade=False)
        try:
            tokens = [store.people.add(f"browser-{i}")[1] for i in range(browsers)]
        finally:
            store.close()
        log(f"browsers: {browsers} on {processes} app process(es), think {think:g} s, {seconds:g} s, "
            f"project {project_id}")
        before = busy_share(BEFORE_SECONDS)
        with app_processes(url, processes, Path(folder)) as apps:
            urls = [address for address, _ in apps]
            pids = [process.pid for _, process in apps]
            clicks, figures = asyncio.run(_drive(urls, tokens, seconds, think, pids))
        elapsed = figures["elapsed"]
        return BrowserResult(
            processes=processes,
            browsers=browsers,
            think=think,
            seconds=elapsed,
            clicks=len(clicks),
            p50_ms=percentile(clicks, 50),
            p99_ms=percentile(clicks, 99),
            app_cpu=[c / elapsed for c in figures["cpu"]],
            app_rss_idle=figures["rss_idle"],
            app_rss_loaded=figures["rss_loaded"],
            sessions=[len(range(i, browsers, processes)) for i in range(processes)],
            browser_cpu=figures["browser_cpu"] / elapsed,
            machine_busy=figures["machine"],
            before_busy=before,
        )


# Report


def _pause(think: float) -> str:
    return "none (flat out)" if not think else f"{think:g} s mean"


def markdown_table(header: str, align: str, rows: Iterable[str]) -> str:
    """A Markdown table from its header row, its alignment row and one row a result."""
    return "\n".join([header, align, *rows])


def library_table(results: list[LibraryResult]) -> str:
    def row(r: LibraryResult) -> str:
        return (
            f"| {r.labellers} | {_pause(r.think)} | {r.labels / r.seconds:,.0f} | {r.p50_ms:.1f} ms | {r.p99_ms:.1f} ms "
            f"| {r.max_ms:.0f} ms | {r.client_cpu:.2f} cores | {r.machine_busy:.0%} ({r.before_busy:.0%}) |"
        )

    return markdown_table(
        "| labellers (processes) | pause between items | labels/s | next+submit p50 | p99 | max "
        "| labellers' CPU | machine CPU busy (before: others) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
        map(row, results),
    )


def browser_table(results: list[BrowserResult]) -> str:
    def row(r: BrowserResult) -> str:
        cpu = " + ".join(f"{c:.0%}" for c in r.app_cpu)
        per_session = " / ".join(f"{c / max(n, 1):.0%}" for c, n in zip(r.app_cpu, r.sessions))
        memory = " / ".join(
            f"{(loaded - idle) / max(n, 1):.1f} MB (idle {idle:.0f} MB)"
            for idle, loaded, n in zip(r.app_rss_idle, r.app_rss_loaded, r.sessions)
        )
        return (
            f"| {r.processes} | {r.browsers} | {_pause(r.think)} | {r.clicks / r.seconds:.1f} | {r.p50_ms:.0f} ms "
            f"| {r.p99_ms:.0f} ms "
            f"| {cpu} | {per_session} | {memory} | {r.browser_cpu:.2f} cores "
            f"| {r.machine_busy:.0%} ({r.before_busy:.0%}) |"
        )

    return markdown_table(
        "| app processes | browsers | pause between items | labels/s | click→next p50 | p99 | app CPU (of one core) "
        "| app CPU per session | app memory per session | browsers' CPU | machine CPU busy (before: others) |",
        "|---:|---:|---:|---:|---:|---:|---|---|---|---:|---:|",
        map(row, results),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", default=POSTGRES, help=f"server URL (default {POSTGRES})")
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--labellers", type=int, default=50, help="library labeller processes")
    parser.add_argument("--think", type=float, action="append",
                        help="mean pause between items, seconds (repeatable; default: 0 and 1)")
    parser.add_argument("--seconds", type=float, help="measured window per library scenario (default 30)")
    parser.add_argument("--browsers", type=int, default=8)
    parser.add_argument("--browser-think", type=float, action="append",
                        help="mean pause between a browser's items, seconds (repeatable; default: 0 and 1)")
    parser.add_argument("--browser-seconds", type=float, help="measured window per browser scenario (default 30)")
    parser.add_argument("--no-library", action="store_true")
    parser.add_argument("--no-browsers", action="store_true")
    args = parser.parse_args()
    seconds = args.seconds or (5.0 if args.quick else 30.0)
    browser_seconds = args.browser_seconds or (5.0 if args.quick else 30.0)
    items = 20_000 if args.quick else 100_000
    labellers = min(args.labellers, 8) if args.quick else args.labellers
    browsers = min(args.browsers, 2) if args.quick else args.browsers
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    output = [f"Load benchmark on {os.cpu_count()} cores, PostgreSQL at {sa.engine.make_url(args.postgres).host}.", ""]
    if not args.no_library:
        scenarios = [(1, 0.0)] + [(labellers, think) for think in (args.think or [0.0, 1.0])]  # 1: the floor
        results = [run_library(args.postgres, n, think, seconds, items) for n, think in scenarios]
        output += [f"Library labellers, {seconds:g} s each (target: {args.labellers} labellers with p99 ≤ "
                   f"{TARGET_P99_MS:g} ms):", "", library_table(results), ""]
        for r in results:
            if r.errors:
                output.append(f"Errors with think {r.think:g}: {len(r.errors)}, e.g. {r.errors[0]}")
    if not args.no_browsers:
        scenarios = [(1, 1, 0.0)]  # one browser flat out: the single-labeller figure
        scenarios += [(p, browsers, think) for think in (args.browser_think or [0.0, 1.0]) for p in (1, 2)]
        results = [run_browsers(args.postgres, p, b, think, browser_seconds, 20_000) for p, b, think in scenarios]
        output += [f"Browser labellers (headless Chromium on the same cores), {browser_seconds:g} s each:", "",
                   browser_table(results), ""]
    print("\n".join(output))


if __name__ == "__main__":
    main()
