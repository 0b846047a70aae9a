"""Import figures for the README: a CSV file through the CLI path against `psql \\copy` of the same file, and
1,000,000 rows of 64 floats through the library, with peak memory; then `set_priorities` over those items.

    python benchmarks/ingest_bench.py              # 400,000 short-text rows, 1,000,000 float rows
    python benchmarks/ingest_bench.py --quick      # 40,000 and 100,000: a smoke run of the same code

`python -m labelling import --create` (the Setup page's code) runs as a subprocess on PostgreSQL (a schema
of its own, dropped afterwards) and on a temporary SQLite file; `psql \\copy` loads the same file into a
two-column table on the same server in the same run: the floor. The PostgreSQL import runs twice: as the
server's superuser (which may skip the per-row foreign-key triggers, see labelling.storage.items) and as a
role that may not (every row checked). Peak RSS is each process's own (GNU time), so the CLI's figure
includes the interpreter and its imports. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from labelling import Store  # noqa: E402
from queue_bench import POSTGRES, Schema, log  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
WORDS = "arrived late but works well the screen is bright battery lasts all day would buy again not worth money".split()
TARGET_SECONDS = 5.0
TARGET_RATIO = 3.0
FLOAT_TARGET_SECONDS = 15.0
PRIORITIES_TARGET_SECONDS = 5.0


def write_reviews(path: Path, rows: int, seed: int = 7) -> Path:
    """`id,text`: short reviews of about 90 characters (about 100 bytes a row), seeded."""
    rng = random.Random(seed)
    with path.open("w") as handle:
        handle.write("id,text\n")
        for i in range(rows):
            handle.write(f"{i},review {i}: {' '.join(rng.choice(WORDS) for _ in range(14))}\n")
    return path


def timed(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of a command run to completion; raises with its stderr if it fails. The peak
    is GNU time's (`%M`): a forked child's own `ru_maxrss` starts at this process's size."""
    started = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-f", "%M", *command], env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr}")
    return seconds, int(done.stderr.strip().splitlines()[-1]) / 1024


def cli_import(csv: Path, url: str) -> tuple[float, float]:
    env = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(REPO)}
    name = f"bench-{uuid.uuid4().hex[:6]}"
    return timed([sys.executable, "-m", "labelling", "import", str(csv), "--project", name, "--create", "--labels", "a,b,c"], env)


def psql_copy(csv: Path, url: str, schema: str) -> tuple[float, float]:
    parts = sa.engine.make_url(url)
    dsn = f"host={parts.host} port={parts.port or 5432} user={parts.username} dbname={parts.database}"
    table = f"{schema}.floor_{uuid.uuid4().hex[:6]}"
    subprocess.run(["psql", dsn, "-q", "-c", f"CREATE TABLE {table} (id bigint, text text)"], check=True)
    return timed(["psql", dsn, "-q", "-c", f"\\copy {table} FROM '{csv}' CSV HEADER"])


def floats(n: int, chunk: int = 50_000, seed: int = 0):
    rng = np.random.default_rng(seed)
    for start in range(0, n, chunk):
        yield rng.random((min(chunk, n - start), 64))


def float_import(url: str, n: int) -> tuple[float, float, int]:
    """1M rows of 64 floats through `Store.import_project` (the library path; the CLI takes CSV files): seconds,
    peak RSS growth (MB) and the project's id."""
    store = Store.connect(url)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    project, _ = store.import_project(f"floats-{uuid.uuid4().hex[:6]}", ["a", "b"], floats(n))
    seconds = time.perf_counter() - started
    store.close()
    return seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before, project.id


def priorities(url: str, project_id: int) -> tuple[float, int]:
    """Seconds for `set_priorities` to give every item of the project a new, seeded random score."""
    store = Store.connect(url)
    ids = _item_ids(store, project_id)
    scores = np.random.default_rng(1).random(len(ids))
    started = time.perf_counter()
    store.set_priorities(project_id, ids, scores)
    seconds = time.perf_counter() - started
    store.close()
    return seconds, len(ids)


def _item_ids(store: Store, project_id: int) -> np.ndarray:
    with store.engine.connect() as connection:
        rows = connection.execute(sa.text("SELECT id FROM items WHERE project_id = :p ORDER BY id"), {"p": project_id})
        return np.fromiter((row[0] for row in rows), dtype=np.int64)


def unprivileged(url: str, schema: str) -> str:
    """The URL as a new login role with every right on the schema but not superuser, so not allowed to set
    session_replication_role: its imports go through the foreign-key triggers."""
    role = f"{schema}_role"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
        connection.exec_driver_sql(f"GRANT ALL ON SCHEMA {schema} TO {role}")
        connection.exec_driver_sql(f"GRANT ALL ON ALL TABLES IN SCHEMA {schema} TO {role}")
        connection.exec_driver_sql(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA {schema} TO {role}")
    admin.dispose()
    return sa.engine.make_url(url).set(username=role).render_as_string(hide_password=False)


def drop_role(url: str, schema: str) -> None:
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP OWNED BY {schema}_role CASCADE")
        connection.exec_driver_sql(f"DROP ROLE {schema}_role")
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--postgres", default=os.environ.get("TEST_DATABASE_URL", POSTGRES))
    parser.add_argument("--quick", action="store_true", help="40,000 text rows and 100,000 float rows")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    text_rows, float_rows = (40_000, 100_000) if args.quick else (400_000, 1_000_000)

    with tempfile.TemporaryDirectory() as folder:
        csv = write_reviews(Path(folder) / "reviews.csv", text_rows)
        size_mb = csv.stat().st_size / 1e6
        with Schema(args.postgres) as url:
            schema = url.rsplit("search_path%3D", 1)[-1]
            Store.connect(url).close()  # the schema migrated before the clock starts, as on a running server
            log(f"psql \\copy {text_rows:,} rows ({size_mb:.0f} MB)")
            floor = psql_copy(csv, url, schema)
            log(f"CLI import on PostgreSQL, {text_rows:,} rows")
            ours_pg = cli_import(csv, url)
            log(f"CLI import on PostgreSQL as a role that may not skip the key checks, {text_rows:,} rows")
            try:
                ours_checked = cli_import(csv, unprivileged(url, schema))
            finally:
                drop_role(url, schema)
            log(f"library import on PostgreSQL, {float_rows:,} rows of 64 floats")
            floats_pg = float_import(url, float_rows)
            log(f"set_priorities on PostgreSQL, {float_rows:,} items")
            priorities_pg = priorities(url, floats_pg[2])
        startup = timed([sys.executable, "-m", "labelling", "--help"], {**os.environ, "PYTHONPATH": str(REPO)})
        sqlite_url = f"sqlite:///{Path(folder) / 'bench.db'}"
        Store.connect(sqlite_url).close()
        log(f"CLI import on SQLite, {text_rows:,} rows")
        ours_lite = cli_import(csv, sqlite_url)

    ratio = ours_pg[0] / floor[0]
    rows = [
        (f"`psql \\copy` of the file (floor), {text_rows:,} rows, {size_mb:.0f} MB", f"{floor[0]:.1f} s", "", f"{floor[1]:.0f} MB"),
        (
            "`python -m labelling import --create`, PostgreSQL",
            f"{ours_pg[0]:.1f} s ({text_rows / ours_pg[0]:,.0f} rows/s), {ratio:.1f}x the floor",
            f"≤ {TARGET_SECONDS:.0f} s {'✓' if ours_pg[0] <= TARGET_SECONDS else '✗'}; "
            f"≤ {TARGET_RATIO:.0f}x {'✓' if ratio <= TARGET_RATIO else '✗'}",
            f"{ours_pg[1]:.0f} MB",
        ),
        (
            "the same, as a role that may not skip the foreign-key triggers",
            f"{ours_checked[0]:.1f} s ({text_rows / ours_checked[0]:,.0f} rows/s), {ours_checked[0] / floor[0]:.1f}x the floor",
            "",
            f"{ours_checked[1]:.0f} MB",
        ),
        ("of which the CLI's start-up (`python -m labelling --help`)", f"{startup[0]:.1f} s", "", f"{startup[1]:.0f} MB"),
        (
            "`python -m labelling import --create`, SQLite",
            f"{ours_lite[0]:.1f} s ({text_rows / ours_lite[0]:,.0f} rows/s)",
            f"≤ {TARGET_SECONDS:.0f} s {'✓' if ours_lite[0] <= TARGET_SECONDS else '✗'}",
            f"{ours_lite[1]:.0f} MB",
        ),
        (
            f"{float_rows:,} rows of 64 floats, `Store.import_project`, PostgreSQL",
            f"{floats_pg[0]:.1f} s ({float_rows / floats_pg[0]:,.0f} rows/s)",
            f"≤ {FLOAT_TARGET_SECONDS:.0f} s {'✓' if floats_pg[0] <= FLOAT_TARGET_SECONDS else '✗'}",
            f"+{floats_pg[1]:.0f} MB",
        ),
        (
            f"`Store.set_priorities` of those {priorities_pg[1]:,} items, PostgreSQL",
            f"{priorities_pg[0]:.1f} s",
            f"≤ {PRIORITIES_TARGET_SECONDS:.0f} s {'✓' if priorities_pg[0] <= PRIORITIES_TARGET_SECONDS else '✗'}",
            "",
        ),
    ]
    print("| import | time | target | peak RSS |")
    print("|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
