"""`python -m labelling`: host and script the labelling store from a shell (migrate, worker, import, export,
labeller add/revoke, status).

Exit codes: 0 done, 1 refused (one line on stderr naming the problem: bad input, missing file, unreachable
database), 2 wrong usage (argparse's message), 130 interrupted. Expected errors never print a traceback.

The configuration is the app's (`labelling.settings`): --database-url, else `database_url` in
./.streamlit/secrets.toml, else $DATABASE_URL, else the SQLite file labelling.db in the working directory.
The grammar is `parser`, the commands `commands` (hosting) and `files` (import, export).
"""

from __future__ import annotations

import os
import sys

from labelling.cli.commands import run_worker
from labelling.cli.common import EXIT_INTERRUPTED, EXIT_REFUSED, Refused, first_line
from labelling.cli.parser import build_parser
from labelling.errors import DatabaseUnavailable, LabellingError, SchemaNotUpgradable
from labelling.settings import Settings
from labelling.storage.engine import shown_url

__all__ = ["build_parser", "main"]


def main(argv: list[str] | None = None) -> int:
    """Run one command; the exit code as the module docstring lists them."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.run is run_worker:
        args.worker_args = [*extra, *args.worker_args]  # the worker parses its own options
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    url = None
    try:
        flags = {"database_url": args.database_url, "public_url": getattr(args, "public_url", None)}
        args.settings = Settings.load(flags)
        url = args.settings.database_url
        return args.run(args)
    except DatabaseUnavailable as error:
        return _refuse(f"cannot reach the database at {_shown(url)}: {first_line(error.__cause__ or error)}")
    except SchemaNotUpgradable as error:  # e.g. the database was migrated by a newer version of the app
        return _refuse(f"cannot bring the schema of {_shown(url)} up to date: {first_line(error)}")
    except (LabellingError, Refused) as error:
        return _refuse(str(error))
    except FileNotFoundError as error:
        return _refuse(f"no such file or folder: {error.filename}")
    except OSError as error:
        if isinstance(error, BrokenPipeError):  # `... | head`: the reader left; say nothing more
            _silence_stdout()
            return EXIT_REFUSED
        where = f" {error.filename}" if error.filename else ""
        return _refuse(f"cannot use{where}: {error.strerror or error}")
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _refuse(message: str) -> int:
    print(f"labelling: {message}", file=sys.stderr)
    return EXIT_REFUSED


def _shown(url: str | None) -> str:
    return "(none)" if url is None else shown_url(url)


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
