"""The background retraining process: `python -m labelling.learning.worker`.

    python -m labelling.learning.worker                              # the app's database (labelling.settings)
    python -m labelling.learning.worker --once                       # train every due project once, then exit
    python -m labelling.learning.worker --every-labels 50 --every-seconds 600 --project 3

`orchestrate` looks at the projects and trains one when it is due: a "Retrain now" request is waiting, or
`every_labels` labels arrived since its last run started, or `every_seconds` passed since then and some
label arrived, or its last run died with its worker (the lease expired). A project's own
schedule (the Train page) wins over the command line's, which is the default for the others. Runs go
through `labelling.learning.training.train`, which holds the project's trainer lease, so any number of workers
and app replicas train each project once at a time. On PostgreSQL the worker LISTENs: a submitted label or a
"Retrain now" request wakes it at once (`labelling.storage.wakeups`), and it polls only every
LISTEN_POLL_SECONDS as a fallback; on SQLite it polls every POLL_SECONDS.

The database may go away and come back (a restart, a failover, a moved SQLite file): the worker logs it,
waits and retries. Started by the app (`spawn_embedded`), it exits once the app process is gone.
Between training checks it computes the sentence embeddings text columns still lack, a few seconds at a
time (`labelling.learning.embedding_jobs`), and looks again at once while some are left.
The loop holds no SQL: it calls the store (`Store.runs`, its listener) and `labelling.learning.training`.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from labelling.errors import DatabaseAway, LabellingError, ProjectNotFound, TrainingBusy
from labelling.learning import registry, training
from labelling.learning.embedding_jobs import EmbeddingJobs
from labelling.learning.models import MODELS
from labelling.learning.lease import LEASE_SECONDS, new_holder
from labelling.learning.training_settings import training_settings
from labelling.records import Project, Task
from labelling.settings import WORKER_DUTY_CYCLE, WORKER_NICENESS, Settings
from labelling.storage.runs import RunStatus, TrainingState
from labelling.storage.store import Store
from labelling.storage.wakeups import AWAY_ERRORS, WAIT_SLICE_SECONDS

__all__ = ["LISTEN_POLL_SECONDS", "POLL_SECONDS", "due", "main", "orchestrate", "spawn_embedded"]

log = logging.getLogger("labelling.learning.worker")

POLL_SECONDS = 2.0
"""How often projects are checked where nothing wakes the worker (SQLite); also how soon a "Retrain now"
request is picked up there."""
LISTEN_POLL_SECONDS = 30.0
"""How often projects are checked anyway while notifications wake the worker (PostgreSQL): the time
schedule (`every_seconds`) and anything a lost notification missed are seen this late at most."""
MAX_RETRY_SECONDS = 15.0
"""While the database is away, retries back off up to this interval."""


def due(state: TrainingState, every_labels: int, every_seconds: float) -> str | None:
    """Why the project should be trained now ("request", "labels", "schedule", "retry"), or None."""
    if state.queued is not None:
        return "request"
    last = state.last
    if last is None:  # the first model needs training.MIN_LABELS: a run before would only fail and say so
        return "labels" if state.new_labels >= training.MIN_LABELS else None
    if last.status == RunStatus.RUNNING and not state.lease_taken:
        return "retry"  # its worker died: nobody renews the lease
    if last.status == RunStatus.RUNNING:
        return None
    if state.new_labels >= every_labels:
        return "labels"
    if state.new_labels > 0 and state.now - (last.started_at or 0.0) >= every_seconds:
        return "schedule"
    return None


def _schedule(project: Project, every_labels: int | None, every_seconds: float | None) -> tuple[int, float]:
    """The project's own schedule where it has one, else the command line's, else the defaults."""
    own = project.options.training
    settings = training_settings(project)
    labels = settings.every_labels if "every_labels" in own or every_labels is None else every_labels
    seconds = settings.every_seconds if "every_seconds" in own or every_seconds is None else every_seconds
    return int(labels), float(seconds)


def orchestrate(
    store: Store,
    *,
    every_labels: int | None = None,
    every_seconds: float | None = None,
    once: bool = False,
    max_runs: int | None = None,
    projects: Sequence[int | str] | None = None,
    model: Any = None,
    preprocess: Callable[[Any, Any], tuple[Any, Any]] | None = None,
    lease_seconds: float = LEASE_SECONDS,
    poll_seconds: float | None = None,
    duty_cycle: float = WORKER_DUTY_CYCLE,
    alive: Callable[[], bool] = lambda: True,
) -> int:
    """Retrain due projects until stopped (`alive()` turns False), after one pass with `once`, or after
    `max_runs` runs; returns the number of runs (finished or failed). `model` is an estimator, a
    callable making one per run, or a model's name (`training.train`); None means each project's choice.
    `projects`, names or ids, limits it to those (ProjectNotFound for one that does not exist); archived
    projects are never trained. `poll_seconds`: how often the
    projects are checked without a wakeup (default: LISTEN_POLL_SECONDS where notifications wake the
    worker, else POLL_SECONDS). `duty_cycle`: the share of time a run works (see `training.train`).

    With `once`, a database that cannot be reached raises DatabaseAway; otherwise it is waited for.
    """
    wanted = None if projects is None else {store.project(project).id for project in projects}
    listener = store.runs.listener()
    if poll_seconds is None:
        poll_seconds = LISTEN_POLL_SECONDS if listener.listening else POLL_SECONDS
    retry_seconds = min(poll_seconds, POLL_SECONDS)
    holder = new_holder()
    built_in = model is None or (isinstance(model, str) and model in MODELS)  # your own model reads raw items
    jobs = EmbeddingJobs(store, holder, duty_cycle=duty_cycle) if built_in else None
    done = 0
    failures = 0
    woken = False
    how = "woken by notifications, " if listener.listening else ""
    log.info("worker %s started (%spoll every %.1f s)", holder, how, poll_seconds)
    try:
        while alive():
            try:
                listener.check_reachable()
                listener.listen()
                # Models are trained for classification and span projects: box projects are left alone.
                found = [
                    p for p in store.projects()
                    if not p.archived and (wanted is None or p.id in wanted) and p.options.task is not Task.BOXES
                ]
                if failures:
                    log.info("database is back")
                failures = 0
                for project in found:
                    if not alive():
                        break
                    labels, seconds = _schedule(project, every_labels, every_seconds)
                    if due(store.runs.state(project.id, holder), labels, seconds) is None:
                        continue
                    done += _train(store, project, holder, labels, seconds, model, preprocess, lease_seconds, duty_cycle)
                    if max_runs is not None and done >= max_runs:
                        return done
                more = jobs is not None and jobs.work(found, alive)
                while once and more:  # one pass: every pending vector, then exit
                    more = jobs.work(found, alive)
            except AWAY_ERRORS as error:
                if once:
                    raise DatabaseAway(_first_line(error)) from error
                failures += 1
                delay = min(retry_seconds * 2 ** (failures - 1), max(MAX_RETRY_SECONDS, retry_seconds))
                log.warning("database unavailable (%s); retrying in %.1f s", _first_line(error), delay)
                listener.reset()  # drop connections to the server or file that went away
                listener.wait(delay, alive)
                continue
            if once:
                break
            if more:
                continue  # embeddings are left: check the training schedule, then the next slice
            # Labels may arrive unannounced just after a wakeup (see wakeups.NOTIFY_EVERY_SECONDS): look again soon.
            woken = listener.wait(min(poll_seconds, listener.RECHECK_SECONDS) if woken else poll_seconds, alive)
    finally:
        listener.close()
    return done


def _train(store, project, holder, labels, seconds, model, preprocess, lease_seconds, duty_cycle) -> int:
    """One run if the project is (still) due once its lease is held; 1 if a run happened."""
    try:
        run = training.train(
            store,
            project.id,
            model=model() if callable(model) else model,
            preprocess=preprocess,
            when=lambda state: due(state, labels, seconds),
            holder=holder,
            lease_seconds=lease_seconds,
            duty_cycle=duty_cycle,
        )
    except TrainingBusy:
        log.info("project %s is being trained elsewhere", project.id)
        return 0
    except ProjectNotFound:
        return 0
    except AWAY_ERRORS:
        raise  # the database went away: orchestrate waits for it
    except Exception as error:  # the model's own error: recorded as a failed run by `train`
        log.warning("project %s: training failed: %s", project.id, _first_line(error))
        return 1
    if run is None:
        return 0
    if run.model:
        scores = run.scores or {}
        measure = "span F1" if "span_f1" in scores else "accuracy"  # a span project's, a classifier's
        value = scores.get("span_f1", scores.get("cv_accuracy"))
        shown = f"cv {measure} {value:.3f}" if value is not None else "not cross-validated"
        log.info("project %s: run %s (%s) trained on %s labels, %s, in %.1f s",
                 project.id, run.id, run.trigger, run.n_labels, shown, run.duration or 0.0)
    else:
        log.info("project %s: run %s (%s): %s", project.id, run.id, run.trigger, run.note)
    return 1


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _watcher(parent_pid: int | None, stop: threading.Event) -> Callable[[], bool]:
    """alive(): False once asked to stop, or once the parent process (the app) has ended."""
    ours = parent_pid is not None and parent_pid == os.getppid()

    def alive() -> bool:
        if stop.is_set():
            return False
        if parent_pid is None:
            return True
        if ours:
            return os.getppid() == parent_pid  # re-parented: the app is gone
        try:
            os.kill(parent_pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    return alive


def _lower_priority(niceness: int) -> None:
    """Add `niceness` to the nice value of every thread of this process. Linux keeps one per thread and
    `os.nice` changes only the caller's: a thread started before it (OpenBLAS's, at numpy's import, without
    OMP_NUM_THREADS=1) would compete with the app at full priority. Threads started later inherit it."""
    try:
        threads = [int(thread) for thread in os.listdir("/proc/self/task")]
    except OSError:  # not Linux: 0 is the whole process
        threads = [0]
    for thread in threads:
        try:
            os.setpriority(os.PRIO_PROCESS, thread, min(19, os.getpriority(os.PRIO_PROCESS, thread) + niceness))
        except OSError:  # a thread that ended meanwhile, or a negative niceness without the privilege
            pass


def _connect(url: str, once: bool, alive: Callable[[], bool], poll_seconds: float) -> Store | None:
    failures = 0
    while alive():
        try:
            return Store.connect(url)
        except AWAY_ERRORS as error:
            if once:
                raise DatabaseAway(_first_line(error)) from error
            failures += 1
            delay = min(poll_seconds * 2 ** (failures - 1), MAX_RETRY_SECONDS)
            log.warning("database unavailable (%s); retrying in %.1f s", _first_line(error), delay)
            _pause(delay, alive)
    return None


def _pause(seconds: float, alive: Callable[[], bool]) -> None:
    """Wait before connecting again (no store yet, so nothing can wake the worker)."""
    deadline = time.monotonic() + seconds
    while alive() and time.monotonic() < deadline:
        time.sleep(min(WAIT_SLICE_SECONDS, max(0.0, deadline - time.monotonic())))


def main(argv: Sequence[str] | None = None, prog: str = "python -m labelling.learning.worker") -> int:
    """The worker's command line; `prog` names the command its messages show (`python -m labelling worker`)."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        help="default: database_url in .streamlit/secrets.toml, else $DATABASE_URL, else sqlite:///labelling.db",
    )
    parser.add_argument("--every-labels", type=int, help="retrain after this many new labels (default 20)")
    parser.add_argument("--every-seconds", type=float, help="...or after this long with new labels (default 300)")
    parser.add_argument("--once", action="store_true", help="one pass over the projects, then exit")
    parser.add_argument("--max-runs", type=int, help="exit after this many runs")
    parser.add_argument(
        "--project", action="append", metavar="NAME", help="only this project, by name or id (repeatable)"
    )
    parser.add_argument(
        "--model",
        help="train every project with this model instead of each project's choice: a built-in or registered "
        "name, or package.module:factory (an estimator, its class or a function making one)",
    )
    parser.add_argument("--lease-seconds", type=float, default=LEASE_SECONDS)
    parser.add_argument(
        "--poll-seconds",
        type=float,
        help=f"check the projects this often without a wakeup (default {LISTEN_POLL_SECONDS:g} on PostgreSQL, "
        f"which wakes the worker when labels arrive, {POLL_SECONDS:g} on SQLite)",
    )
    parser.add_argument(
        "--niceness",
        help=f"CPU priority added to the worker's (default {WORKER_NICENESS}, or $LABELLING_WORKER_NICENESS; "
        "0 keeps the parent's)",
    )
    parser.add_argument(
        "--duty-cycle",
        help=f"share of the time a run works, pausing in between (default {WORKER_DUTY_CYCLE}, or "
        "$LABELLING_WORKER_DUTY_CYCLE; 1: full speed)",
    )
    parser.add_argument("--parent-pid", type=int, help="exit when this process ends (the app passes its own)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.every_labels is not None and args.every_labels < 1:
        parser.error("--every-labels must be at least 1")
    if args.every_seconds is not None and args.every_seconds <= 0:
        parser.error("--every-seconds must be positive")
    if args.poll_seconds is not None and args.poll_seconds <= 0:
        parser.error("--poll-seconds must be positive")
    flags = {"database_url": args.database_url, "worker_niceness": args.niceness, "worker_duty_cycle": args.duty_cycle}
    try:
        settings = Settings.load(flags)  # as the CLI and the app
    except LabellingError as error:  # a secrets.toml that is not valid TOML, a bad setting
        log.error("%s", error)
        return 1
    url = settings.database_url

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    alive = _watcher(args.parent_pid, stop)
    _lower_priority(settings.worker_niceness)
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)  # one BLAS thread: several times faster for these fits on few cores
    if args.model and args.model not in MODELS:
        try:  # once now, so that a model that cannot be made stops the worker with the reason
            registry.make(args.model, settings.models)
        except LabellingError as error:
            log.error("%s", error)
            return 1
    try:
        store = _connect(url, args.once, alive, args.poll_seconds or POLL_SECONDS)
        if store is None:
            return 0
        try:
            orchestrate(
                store,
                every_labels=args.every_labels,
                every_seconds=args.every_seconds,
                once=args.once,
                max_runs=args.max_runs,
                projects=args.project,
                model=args.model,
                lease_seconds=args.lease_seconds,
                poll_seconds=args.poll_seconds,
                duty_cycle=settings.worker_duty_cycle,
                alive=alive,
            )
        finally:
            store.close()
    except DatabaseAway as error:
        log.error("database unavailable: %s", _first_line(error))
        return 1
    except ProjectNotFound as error:  # a --project that names no project
        log.error("%s", error)
        return 1
    except KeyboardInterrupt:
        return 130
    log.info("worker stopped")
    return 0


def spawn_embedded(database_url: str, *, cwd: str | os.PathLike | None = None) -> subprocess.Popen:
    """Start a worker for this (app) process: same interpreter and working directory, one BLAS thread;
    it exits when this process ends. Its log goes to this process's stderr."""
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return subprocess.Popen(
        [sys.executable, "-m", "labelling.learning.worker", "--database-url", database_url, "--parent-pid", str(os.getpid())],
        cwd=cwd or os.getcwd(),
        env=env,
        stdin=subprocess.DEVNULL,
    )


if __name__ == "__main__":
    sys.exit(main())
