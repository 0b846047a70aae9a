"""The worker's niceness reaches every thread of its process, on Linux where each thread has its own:
one started before the worker lowers its priority (as OpenBLAS starts one at numpy's import) and the ones
the embedding model starts afterwards. Checked in a child process, so the tests' own priority is left alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
CHILD = """
import os, threading
from labelling.learning import embeddings, worker

stop = threading.Event()
early = threading.Thread(target=stop.wait)
early.start()
before = os.getpriority(os.PRIO_PROCESS, 0)
worker._lower_priority(3)
if embeddings.available():
    embeddings.encode(["a text", "another, longer text"] * 40)
threads = os.listdir("/proc/self/task")
print(before, len(threads), *sorted({os.getpriority(os.PRIO_PROCESS, int(t)) for t in threads}))
stop.set()
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="per-thread nice values are Linux's")
def test_every_thread_of_the_worker_runs_at_its_niceness():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("TOKENIZERS_PARALLELISM", None)
    out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True).stdout
    before, n_threads, *nice = (int(word) for word in out.split())
    assert nice == [min(19, before + 3)]
    assert n_threads >= 2
