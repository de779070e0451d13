"""SIGKILL during compaction and index builds (``medialake.store.maintain``), then reopen.

A subprocess compacts a ``segments`` table of many small fragments and builds its vector
and full-text indexes; the test kills it at several moments. After every kill the table
must hold exactly the rows it held before, a vector and a full-text query must answer,
``needs_maintenance`` must say whether the work is left, and a final ``maintain`` must
finish it (one fragment, both indexes).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from medialake.arrow import vector_column
from medialake.store import Store, maintain, needs_maintenance

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
DIM = 384
WORDS = "budget lighthouse island bread keeper meeting review travel lamp tower".split()

MAINTAIN = """
import sys
from medialake.store import Store, maintain
store = Store(sys.argv[1], create=False)
print("ready", flush=True)
maintain(store, min_rows=100)
print("finished", flush=True)
"""


def _lake(db: str, n_fragments: int = 40, rows: int = 120) -> set[str]:
    store = Store(db)
    rng = np.random.default_rng(0)
    ids = set()
    for f in range(n_fragments):
        segs = [{"segment_id": f"a{f}-{i}", "asset_id": f"a{f}", "media_type": "video", "modality": "video",
                 "segment_index": i, "start_s": float(i), "end_s": i + 1.0,
                 "text": " ".join(rng.choice(WORDS, 6))} for i in range(rows)]
        ids |= {s["segment_id"] for s in segs}
        vecs = rng.standard_normal((rows, DIM)).astype(np.float32)
        t = pa.Table.from_pylist(segs).append_column("text_vector", vector_column(vecs, np.ones(rows, bool), DIM))
        store.add("segments", t)
    return ids


def _check(db: str, ids: set[str]) -> None:
    store = Store(db, create=False)
    seg = store.table("segments")
    got = seg.search().select(["segment_id"]).limit(None).to_arrow().column("segment_id").to_pylist()
    assert len(got) == len(ids) and set(got) == ids  # nothing lost, nothing doubled
    q = np.random.default_rng(1).standard_normal(DIM).astype(np.float32)
    assert len(seg.search(q, vector_column_name="text_vector").limit(5).to_list()) == 5
    return store


def test_kill_during_maintain_then_rerun(tmp_path):
    db = str(tmp_path / "lake.lance")
    ids = _lake(db)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    outcomes = []
    for delay in (0.05, 0.3, 0.8, 1.5, 3.0):
        proc = subprocess.Popen([sys.executable, "-c", MAINTAIN, db], env=env, stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(delay)
        killed = proc.poll() is None
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        store = _check(db, ids)
        outcomes.append((delay, killed, needs_maintenance(store)))
    print("kill delay, killed mid-maintain, work left:", outcomes)
    assert any(killed and left for _, killed, left in outcomes), outcomes  # at least one kill hit real work
    store = _check(db, ids)
    maintain(store, min_rows=100)
    store = _check(db, ids)
    seg = store.table("segments")
    assert not needs_maintenance(store)
    assert len(seg.to_lance().get_fragments()) == 1
    assert {tuple(i.columns) for i in seg.list_indices()} >= {("text_vector",), ("text",)}
    assert seg.search("lighthouse", query_type="fts").limit(3).to_list()
