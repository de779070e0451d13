"""A crash between fragment write and commit, with distributed writes, on a local path and
on ``s3://`` (a moto S3 server on 127.0.0.1).

The ingest runs as ``python -m medialake ingest`` in its own session, with a hook on the
driver's commit: at its second commit the workers have written fragments the driver has
not committed; the hook notes them and waits, and the test SIGKILLs the driver and every
process it started (its Ray, the workers) by their ids. Then nothing of those fragments
may be visible, each done asset has all its segments, and the rerun deletes the orphan
files and finishes with every segment exactly once.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import lance
import pyarrow.fs as pafs
import pytest
from procs import kill_tree

from media import make_wav
from medialake.operators.decode import decode_file
from medialake.operators.fragments import segments_uri
from medialake.operators.scan import scan
from medialake.pipelines.config import load_config
from medialake.store import Store
from s3server import s3_env

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
CONFIG = "asr: {model: null}\ntext: {model: null}\ndecode: {window_s: 0.5}\ncommit_every: 4\ncommit_every_s: 0\n"

#: The driver with a hook on the sink's commit: at commit number CRASH_AT, note what is
#: about to be committed and what the dataset holds, then hang until killed.
HOOKED = """
import json, os, sys, time
import lance
import medialake.operators.sink as sink
from medialake.jobs.cli import main

real, calls = sink.commit_fragments, [0]

def hooked(uri, fragments, storage_options=None):
    calls[0] += 1
    if calls[0] == int(os.environ["CRASH_AT"]):
        note = {"fragments": fragments, "visible_rows": lance.dataset(uri).count_rows()}
        with open(os.environ["CRASH_NOTE"] + ".tmp", "w") as f:
            json.dump(note, f)
        os.replace(os.environ["CRASH_NOTE"] + ".tmp", os.environ["CRASH_NOTE"])
        time.sleep(3600)
    return real(uri, fragments, storage_options)

sink.commit_fragments = hooked
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture(params=["local", "s3"])
def where(request, tmp_path, monkeypatch):
    """(database URI, environment for the ingest processes)."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0",
           "MEDIALAKE_PROGRESS": "0"}
    if request.param == "local":
        return str(tmp_path / "lake.lance"), env
    aws = s3_env(request.getfixturevalue("s3_url"))
    for k, v in aws.items():
        monkeypatch.setenv(k, v)
    return f"s3://lakes/crash-{time.time_ns()}.lance", {**env, **aws}




def _data_files(uri: str) -> set[str]:
    fs, root = pafs.FileSystem.from_uri(uri) if "://" in uri else (pafs.LocalFileSystem(), uri)
    infos = fs.get_file_info(pafs.FileSelector(root + "/data", allow_not_found=True))
    return {i.base_name for i in infos if i.type == pafs.FileType.File}


def _referenced_by_any_version(uri: str) -> set[str]:
    ds = lance.dataset(uri)
    out = set()
    for v in ds.versions():
        out |= {f.path for frag in ds.checkout_version(v["version"]).get_fragments() for f in frag.data_files()}
    return out


def _tables(db: str):
    store = Store(db, create=False)
    assets = store.assets().to_pylist()
    segs = store.table("segments").search().select(["segment_id", "asset_id"]).limit(None).to_arrow().to_pylist()
    return assets, segs


def test_crash_between_fragment_write_and_commit_then_rerun(where, tmp_path):
    db, env = where
    src, cfg_path, note = tmp_path / "src", tmp_path / "cfg.yaml", tmp_path / "crash.json"
    src.mkdir()
    for i in range(6):
        make_wav(src / f"a{i}.wav", seconds=1.6 + 0.3 * i, sr=8000, channels=1)
    cfg_path.write_text(CONFIG)
    cfg = load_config(cfg_path)
    expected = {}
    for r in scan(str(src), cfg.extensions):
        rec = {"asset_id": r.asset_id, "uri": r.uri, "media_type": r.media_type, "size": r.size, "mtime": r.mtime}
        expected[r.asset_id] = {row["segment_id"] for row in decode_file(rec, cfg.decode) if row["segment_index"] >= 0}
    n_expected = sum(map(len, expected.values()))
    uri = segments_uri(db)
    args = ["ingest", str(src), "--db", db, "--config", str(cfg_path)]

    proc = subprocess.Popen([sys.executable, "-c", HOOKED, *args], env={**env, "CRASH_AT": "2", "CRASH_NOTE": str(note)},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        t0 = time.monotonic()
        while not note.exists():
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
            assert time.monotonic() - t0 < 240, "the ingest never reached its second commit"
            time.sleep(0.2)
    finally:
        kill_tree(proc)

    crash = json.loads(note.read_text())
    pending = {f["path"] for m in crash["fragments"] for f in json.loads(m)["files"]}
    pending_rows = sum(json.loads(m)["physical_rows"] for m in crash["fragments"])
    assert pending and pending_rows > 0
    # the workers' files are on storage, no version names them, no reader sees their rows
    assert pending <= _data_files(uri)
    assert not pending & _referenced_by_any_version(uri)
    assert lance.dataset(uri).count_rows() == crash["visible_rows"]
    assets, segs = _tables(db)
    per_asset = Counter(s["asset_id"] for s in segs)
    done = [a for a in assets if a["status"] == "done"]
    for a in done:  # what a search shows is whole
        assert per_asset[a["asset_id"]] == a["n_segments"] == len(expected[a["asset_id"]])
    assert len(done) < len(expected)  # the crash was mid-run

    out = subprocess.run([sys.executable, "-m", "medialake", *args], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert not pending & _data_files(uri)  # the orphans are gone ...
    assert _data_files(uri) <= _referenced_by_any_version(uri)  # ... and no other unreferenced file is left
    assets, segs = _tables(db)
    assert sorted(a["asset_id"] for a in assets) == sorted(expected)
    assert all(a["status"] == "done" for a in assets), [(a["uri"], a["status"], a["reason"]) for a in assets]
    ids = [s["segment_id"] for s in segs]
    assert len(ids) == len(set(ids)) == n_expected  # no duplicate segment, none missing
    assert set(ids) == set().union(*expected.values())
