"""`migrate` tells a database at head by one query, without loading Alembic: the start-up of every app
process, CLI run and worker after the first."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from labelling.storage.engine import MIGRATIONS, head_revisions

REPO = Path(__file__).resolve().parents[2]


def test_the_heads_read_from_the_files_are_alembics():
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))

    assert head_revisions() == set(ScriptDirectory.from_config(config).get_heads())


def test_a_database_at_head_is_opened_without_alembic(db_url, open_store):
    open_store(db_url)  # the first start migrates
    probe = "import sys; from labelling import Store; Store.connect(sys.argv[1]).close(); print('alembic' in sys.modules)"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", probe, db_url], capture_output=True, text=True, env=env, timeout=300)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
