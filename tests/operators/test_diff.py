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


def _commit(plan, prev, cfg="c1", models="m1"):
    """What a successful run would leave in ``assets`` (done rows for the todo)."""
    rows = {a["asset_id"]: dict(a) for a in prev}
    for u in plan.updates:
        rows[u["asset_id"]] = dict(u)
    for aid in plan.deleted:
        rows[aid] = {**rows[aid], "status": "deleted", "locations": []}
    for w in plan.todo:
        first = plan.locations[w.asset_id][0]
        rows[w.asset_id] = {"asset_id": w.asset_id, "uri": w.uri, "size": w.size, "mtime": w.mtime,
                            "content_hash": w.content_hash, "status": "done", "pipeline_version": cfg,
                            "model_versions": models, "locations": plan.locations[w.asset_id], "etag": None}
        assert first["uri"]
    return list(rows.values())


def _run(src, prev, calls=None, **kw):
    kw.setdefault("config_hash", "c1")
    kw.setdefault("model_versions", "m1")
    recs = scan(str(src), EXT)
    plan = diff(recs, prev, root=str(src), hasher=_hasher(calls if calls is not None else []), **kw)
    # every scanned file gets exactly one outcome
    per_file = sum(plan.count(k) for k in ("new", "changed", "unchanged", "moved", "duplicate", "stale", "retried", "forced"))
    assert per_file == len(recs)
    return plan, _commit(plan, prev, kw["config_hash"], kw["model_versions"])


@pytest.fixture
def src(tmp_path):
    d = tmp_path / "src"
    (d / "a").mkdir(parents=True)
    (d / "a" / "one.jpg").write_bytes(b"one" * 100)
    (d / "a" / "two.jpg").write_bytes(b"two" * 100)
    (d / "three.mp4").write_bytes(b"three" * 100)
    return d


def test_first_run_is_all_new_and_second_reads_no_file(src):
    plan, prev = _run(src, [])
    assert plan.count("new") == 3 and len(plan.todo) == 3
    calls = []
    plan, prev = _run(src, prev, calls)
    assert plan.count("unchanged") == 3 and not plan.todo and not plan.updates and not plan.deleted
    assert calls == []  # unchanged metadata: no content read at all


def test_touched_file_is_unchanged_but_rewritten_content_is_changed(src):
    _, prev = _run(src, [])
    p = src / "a" / "one.jpg"
    os.utime(p, (1, 1))
    plan, prev = _run(src, prev)
    assert plan.count("unchanged") == 3 and not plan.todo
    assert len(plan.updates) == 1  # the new mtime is recorded, so the next run reads nothing
    calls = []
    _run(src, prev, calls)
    assert calls == []
    p.write_bytes(b"ONE" * 100)  # same size, new bytes
    os.utime(p, (2, 2))
    plan, prev = _run(src, prev)
    assert plan.count("changed") == 1 and [w.uri for w in plan.todo] == [str(p)]
    assert plan.todo[0].asset_id == [a for a in prev if a["uri"] == str(p)][0]["asset_id"]


def test_moved_and_duplicated_files_need_no_model_work(src):
    _, prev = _run(src, [])
    ids = {a["uri"]: a["asset_id"] for a in prev}
    os.rename(src / "a" / "one.jpg", src / "moved.jpg")
    shutil.copy(src / "a" / "two.jpg", src / "copy_of_two.jpg")
    plan, prev = _run(src, prev)
    assert not plan.todo and plan.count("moved") == 1 and plan.count("duplicate") == 1
    rows = {a["asset_id"]: a for a in prev}
    one = rows[ids[str(src / "a" / "one.jpg")]]
    assert one["uri"] == str(src / "moved.jpg") and [l["uri"] for l in one["locations"]] == [str(src / "moved.jpg")]
    two = rows[ids[str(src / "a" / "two.jpg")]]
    assert sorted(l["uri"] for l in two["locations"]) == sorted([str(src / "a" / "two.jpg"), str(src / "copy_of_two.jpg")])
    # the duplicate's own metadata is recorded: the next run reads nothing
    calls = []
    plan, _ = _run(src, prev, calls)
    assert calls == [] and plan.count("unchanged") == 4


def test_deleted_asset_and_files_outside_the_scanned_root(src, tmp_path):
    _, prev = _run(src, [])
    (src / "three.mp4").unlink()
    plan, prev2 = _run(src / "a", prev)  # scanning a subfolder judges only files under it
    assert not plan.deleted
    plan, prev = _run(src, prev)
    assert plan.count("deleted") == 1 and plan.deleted == [a["asset_id"] for a in prev if a["uri"].endswith("three.mp4")]
    # a deleted file that comes back is new again
    (src / "three.mp4").write_bytes(b"three" * 100)
    plan, _ = _run(src, prev)
    assert plan.count("new") == 1


def test_stale_config_or_model_version_and_failed_retry_and_full(src):
    _, prev = _run(src, [])
    plan, _ = _run(src, prev, config_hash="c2")
    assert plan.count("stale") == 3 and len(plan.todo) == 3
    plan, _ = _run(src, prev, model_versions="m2")
    assert plan.count("stale") == 3
    prev[0] = {**prev[0], "status": "failed"}
    plan, _ = _run(src, prev)
    assert plan.count("retried") == 1 and len(plan.todo) == 1
    plan, _ = _run(src, prev, full=True)
    assert len(plan.todo) == 3 and plan.count("forced") == 2


def test_two_new_identical_files_are_one_asset(src):
    shutil.copy(src / "three.mp4", src / "a" / "three_again.mp4")
    plan, prev = _run(src, [])
    assert plan.count("new") == 3 and plan.count("duplicate") == 1 and len(plan.todo) == 3
    assert len({w.content_hash for w in plan.todo}) == 3


def test_location_of_a_record(src):
    r = scan(str(src), EXT)[0]
    assert location(r) == {"uri": r.uri, "size": r.size, "mtime": r.mtime, "etag": None}
