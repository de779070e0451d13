"""The scan-vs-assets diff, without Ray: every outcome on real files in a temp folder."""

import os
import shutil

import pyarrow.fs as pafs
import pytest

from medialake.operators.diff import content_hash, diff, location
from medialake.operators.scan import scan
from medialake.pipelines.config import IngestConfig

EXT = IngestConfig().extensions
FS = pafs.LocalFileSystem()


def _hasher(calls):
    def h(r):
        calls.append(r.uri)
        return content_hash(FS, r.path)
    return h


def _commit(changes, prev, cfg="c1", models="m1"):
    """What a successful run would leave in ``assets`` (done rows for the todo)."""
    rows = {a["asset_id"]: dict(a) for a in prev}
    for u in changes.updates:
        rows[u["asset_id"]] = dict(u)
    for aid in changes.deleted:
        rows[aid] = {**rows[aid], "status": "deleted", "locations": []}
    for w in changes.todo:
        first = changes.locations[w.asset_id][0]
        rows[w.asset_id] = {"asset_id": w.asset_id, "uri": w.uri, "size": w.size, "mtime": w.mtime,
                            "content_hash": w.content_hash, "status": "done", "config_hash": cfg,
                            "model_versions": models, "locations": changes.locations[w.asset_id], "etag": None}
        assert first["uri"]
    return list(rows.values())


def _run(src, prev, calls=None, **kw):
    kw.setdefault("config_hash", "c1")
    kw.setdefault("model_versions", "m1")
    recs = scan(str(src), EXT)
    changes = diff(recs, prev, root=str(src), hasher=_hasher(calls if calls is not None else []), **kw)
    # every scanned file gets exactly one outcome
    per_file = sum(changes.count(k) for k in ("new", "changed", "unchanged", "moved", "duplicate", "stale", "retried", "forced"))
    assert per_file == len(recs)
    return changes, _commit(changes, prev, kw["config_hash"], kw["model_versions"])


@pytest.fixture
def src(tmp_path):
    d = tmp_path / "src"
    (d / "a").mkdir(parents=True)
    (d / "a" / "one.jpg").write_bytes(b"one" * 100)
    (d / "a" / "two.jpg").write_bytes(b"two" * 100)
    (d / "three.mp4").write_bytes(b"three" * 100)
    return d


def test_first_run_is_all_new_and_second_reads_no_file(src):
    changes, prev = _run(src, [])
    assert changes.count("new") == 3 and len(changes.todo) == 3
    calls = []
    changes, prev = _run(src, prev, calls)
    assert changes.count("unchanged") == 3 and not changes.todo and not changes.updates and not changes.deleted
    assert calls == []  # unchanged metadata: no content read at all


def test_touched_file_is_unchanged_but_rewritten_content_is_changed(src):
    _, prev = _run(src, [])
    p = src / "a" / "one.jpg"
    os.utime(p, (1, 1))
    changes, prev = _run(src, prev)
    assert changes.count("unchanged") == 3 and not changes.todo
    assert len(changes.updates) == 1  # the new mtime is recorded, so the next run reads nothing
    calls = []
    _run(src, prev, calls)
    assert calls == []
    p.write_bytes(b"ONE" * 100)  # same size, new bytes
    os.utime(p, (2, 2))
    changes, prev = _run(src, prev)
    assert changes.count("changed") == 1 and [w.uri for w in changes.todo] == [str(p)]
    assert changes.todo[0].asset_id == [a for a in prev if a["uri"] == str(p)][0]["asset_id"]


def test_moved_and_duplicated_files_need_no_model_work(src):
    _, prev = _run(src, [])
    ids = {a["uri"]: a["asset_id"] for a in prev}
    os.rename(src / "a" / "one.jpg", src / "moved.jpg")
    shutil.copy(src / "a" / "two.jpg", src / "copy_of_two.jpg")
    changes, prev = _run(src, prev)
    assert not changes.todo and changes.count("moved") == 1 and changes.count("duplicate") == 1
    rows = {a["asset_id"]: a for a in prev}
    one = rows[ids[str(src / "a" / "one.jpg")]]
    assert one["uri"] == str(src / "moved.jpg") and [l["uri"] for l in one["locations"]] == [str(src / "moved.jpg")]
    two = rows[ids[str(src / "a" / "two.jpg")]]
    assert sorted(l["uri"] for l in two["locations"]) == sorted([str(src / "a" / "two.jpg"), str(src / "copy_of_two.jpg")])
    # the duplicate's own metadata is recorded: the next run reads nothing
    calls = []
    changes, _ = _run(src, prev, calls)
    assert calls == [] and changes.count("unchanged") == 4


def test_deleted_asset_and_files_outside_the_scanned_root(src, tmp_path):
    _, prev = _run(src, [])
    (src / "three.mp4").unlink()
    changes, prev2 = _run(src / "a", prev)  # scanning a subfolder judges only files under it
    assert not changes.deleted
    changes, prev = _run(src, prev)
    assert changes.count("deleted") == 1 and changes.deleted == [a["asset_id"] for a in prev if a["uri"].endswith("three.mp4")]
    # a deleted file that comes back is new again
    (src / "three.mp4").write_bytes(b"three" * 100)
    changes, _ = _run(src, prev)
    assert changes.count("new") == 1


def test_stale_config_or_model_version_and_failed_retry_and_full(src):
    _, prev = _run(src, [])
    changes, _ = _run(src, prev, config_hash="c2")
    assert changes.count("stale") == 3 and len(changes.todo) == 3
    changes, _ = _run(src, prev, model_versions="m2")
    assert changes.count("stale") == 3
    prev[0] = {**prev[0], "status": "failed"}
    changes, _ = _run(src, prev)
    assert changes.count("retried") == 1 and len(changes.todo) == 1
    changes, _ = _run(src, prev, full=True)
    assert len(changes.todo) == 3 and changes.count("forced") == 2


def test_two_new_identical_files_are_one_asset(src):
    shutil.copy(src / "three.mp4", src / "a" / "three_again.mp4")
    changes, prev = _run(src, [])
    assert changes.count("new") == 3 and changes.count("duplicate") == 1 and len(changes.todo) == 3
    assert len({w.content_hash for w in changes.todo}) == 3


def test_location_of_a_record(src):
    r = scan(str(src), EXT)[0]
    assert location(r) == {"uri": r.uri, "size": r.size, "mtime": r.mtime, "etag": None}
