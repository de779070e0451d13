"""The database's disk fills, or turns read-only, in the middle of an ingest.

The database lives on a small tmpfs mounted for the test (root only: skipped with the
reason where ``mount`` is not permitted, as on most CI runners). After the first batch
reaches the sink the test fills the tmpfs to the last byte, or remounts it read-only.
The run must end with one line that says what happened and what to do, every asset that
was done before the fault must still be done with all its segments, and after the space
or the write permission comes back a rerun finishes every file, none twice.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections import Counter
from pathlib import Path

import lancedb
import pytest

from media import make_png, make_video, make_wav
from medialake.jobs.checks import error_line
from medialake.jobs.ingest import ingest
from medialake.pipelines.config import load_config

pytestmark = pytest.mark.slow


def _mount(cmd: list[str]) -> None:
    """Run ``mount``; a remount the kernel refuses for a moment (exit 32, a write in flight)
    is tried again for up to 5 s (seen once on CI)."""
    for _ in range(50):
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 32:
            break
        time.sleep(0.1)
    r.check_returncode()


@pytest.fixture
def tmpfs(tmp_path):
    """A 64 MiB tmpfs at tmp_path/mnt, unmounted afterwards."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        _mount(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mnt)])
    except (OSError, subprocess.CalledProcessError) as e:
        reason = getattr(e, "stderr", "") or str(e)
        pytest.skip(f"cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN): {reason.strip()[:120]}")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _corpus(root: Path) -> int:
    root.mkdir()
    for i in range(6):
        make_video(root / f"v{i}.mp4", seconds=1.6 + 0.2 * i, fps=5, audio=False)
    for i in range(4):
        make_wav(root / f"a{i}.wav", seconds=1.5 + 0.25 * i, sr=16000, channels=1)
    for i in range(4):
        make_png(root / f"p{i}.png", color=(40 * i, 20, 200))
    return 14


def _fill(mnt: Path) -> None:
    """Write a filler file until the tmpfs has no byte left."""
    fd = os.open(mnt / "filler", os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o644)
    try:
        for size in (1 << 20, 4096, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)


def _state(db: str):
    d = lancedb.connect(db)
    assets = d.open_table("assets").to_arrow().to_pylist()
    segs = d.open_table("segments").search().select(["segment_id", "asset_id"]).limit(None).to_arrow().to_pylist()
    per = Counter(s["asset_id"] for s in segs)
    done = {a["asset_id"] for a in assets if a["status"] == "done"}
    for a in assets:  # what a reader sees is whole
        if a["status"] == "done":
            assert per[a["asset_id"]] == a["n_segments"], (a["uri"], per[a["asset_id"]], a["n_segments"])
    return assets, segs, done


class _FaultAfterFirstCommit:
    """Progress observer that injects the fault once some asset is done."""

    def __init__(self, db: str, inject):
        self.db, self.inject, self.done_before = db, inject, None

    def begin(self, total, sizes):
        pass

    def set_phase(self, name):
        pass

    def close(self):
        pass

    def batch(self, table):
        if self.done_before is None:
            try:
                _, _, done = _state(self.db)
            except Exception:  # noqa: BLE001 - tables being written; look again at the next batch
                return
            if done:
                self.done_before = done
                self.inject()


@pytest.mark.parametrize("fault", ["disk full", "read-only"])
def test_storage_fault_mid_run_then_rerun(fault, tmpfs, tmp_path, ray_local):
    src = tmp_path / "src"
    n_files = _corpus(src)
    db = str(tmpfs / "lake.lance")
    cfg = load_config(overrides={"asr": {"model": None}, "text": {"model": None}, "decode": {"window_s": 0.5},
                                 "commit_every": 2, "commit_every_s": 0.0})
    if fault == "disk full":
        inject = lambda: _fill(tmpfs)  # noqa: E731
        undo = lambda: os.remove(tmpfs / "filler")  # noqa: E731
        expect = "the disk is full"
    else:
        inject = lambda: _mount(["mount", "-o", "remount,ro", str(tmpfs)])  # noqa: E731
        undo = lambda: _mount(["mount", "-o", "remount,rw", str(tmpfs)])  # noqa: E731
        expect = "read-only"
    probe = _FaultAfterFirstCommit(db, inject)
    try:
        with pytest.raises(Exception) as err:
            ingest(src, db, cfg, progress=probe)
    finally:
        if probe.done_before is not None:
            undo()
    assert probe.done_before, "the fault was never injected: no asset was done before the run ended"
    line = error_line(err.value, db)
    print(fault, "->", line)
    assert expect in line and "again" in line, line
    assert "\n" not in line and "Traceback" not in line
    _, _, done_after_fault = _state(db)
    assert probe.done_before <= done_after_fault  # nothing committed lost

    summary = ingest(src, db, cfg)
    assets, segs, done = _state(db)
    assert summary.failed == 0 and len(assets) == n_files and done == {a["asset_id"] for a in assets}
    ids = [s["segment_id"] for s in segs]
    assert len(ids) == len(set(ids))
    assert not (Path(db) / "_medialake.lock").exists()


def test_segment_write_on_a_full_disk_fails_cleanly(tmpfs):
    """The worker's fragment write itself meets ENOSPC: one disk-full line, the table's
    version unchanged, and its orphan bytes removed by the next run's cleanup."""
    import lance
    import numpy as np
    import pyarrow as pa

    from medialake.operators.fragments import FragmentWriter, remove_orphans, segments_uri
    from medialake.store import Store

    db = str(tmpfs / "lake.lance")
    store = Store(db)
    uri = segments_uri(db)
    version = lance.dataset(uri).version
    rows = [{"segment_id": f"x-{i}", "asset_id": "x", "media_type": "video", "modality": "video",
             "segment_index": i, "start_s": float(i), "end_s": i + 1.0,
             "thumbnail": np.random.default_rng(i).bytes(64 << 10)} for i in range(64)]
    _fill(tmpfs)
    writer = FragmentWriter(uri, store.table("segments").schema)
    with pytest.raises(Exception) as err:
        writer.write(pa.Table.from_pylist(rows))
    assert error_line(err.value, db).startswith("the disk is full")
    os.remove(tmpfs / "filler")
    assert lance.dataset(uri).version == version and lance.dataset(uri).count_rows() == 0
    remove_orphans(uri)
    assert not [p for p in (Path(uri) / "data").glob("*") if p.is_file()]
