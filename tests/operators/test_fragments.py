"""The fragment protocol, on a local path and on ``s3://`` (a moto S3 server on 127.0.0.1):
fragments a worker writes are invisible until the driver commits them (all at once), and
the ones a crash leaves uncommitted are deleted by ``remove_orphans``, nothing else is."""

from __future__ import annotations

import json
import os
import time
from datetime import datetime, timezone

import lance
import pyarrow.fs as pafs
import pytest

from medialake.operators.decode import to_stream_table
from medialake.operators.fragments import commit_fragments, fragments_of, remove_orphans, segments_uri
from medialake.operators.sink import writer_for
from medialake.store import Store
from s3server import s3_env


def seg(aid, i):
    return {"asset_id": aid, "uri": f"/x/{aid}.wav", "media_type": "audio", "segment_index": i,
            "segment_id": f"{aid}-{i}", "modality": "audio", "start_s": float(i), "end_s": i + 1.0,
            "n_segments": None, "frames": [b"jpg"], "frame_times": [0.5], "text": f"words of {aid} {i}"}


@pytest.fixture(params=["local", "s3"])
def db(request, tmp_path, monkeypatch):
    if request.param == "local":
        return str(tmp_path / "lake.lance")
    for k, v in s3_env(request.getfixturevalue("s3_url")).items():
        monkeypatch.setenv(k, v)
    return f"s3://lakes/{request.node.name.replace('[', '-').rstrip(']')}-{time.time_ns()}.lance"


def data_files(uri: str) -> set[str]:
    """File names under the dataset's data/ directory, as the object store lists them."""
    if "://" in uri:
        fs, root = pafs.FileSystem.from_uri(uri)
    else:
        fs, root = pafs.LocalFileSystem(), uri
    infos = fs.get_file_info(pafs.FileSelector(root + "/data", allow_not_found=True))
    return {i.base_name for i in infos if i.type == pafs.FileType.File}


def referenced(uri: str) -> set[str]:
    ds = lance.dataset(uri)
    return {f.path for frag in ds.get_fragments() for f in frag.data_files()}


def names_in(frags: list[str]) -> set[str]:
    return {f["path"] for m in frags for f in json.loads(m)["files"]}


def visible_ids(db: str) -> list[str]:
    return Store(db, create=False).table("segments").search().select(["segment_id"]).limit(None).to_arrow() \
        .column("segment_id").to_pylist()


def test_written_fragments_stay_invisible_until_one_commit_shows_them_all(db):
    store = Store(db)
    uri = segments_uri(db)
    writer = writer_for(store)
    r1 = writer(to_stream_table([seg("a", 0), seg("a", 1), seg("b", 0)]))
    r2 = writer(to_stream_table([seg("b", 1), seg("c", 0)]))  # a second worker's batch
    frags = fragments_of(r1) + fragments_of(r2)
    assert sorted(r1.column("written").to_pylist()) == [1, 2]  # per asset: segments in the fragment
    assert names_in(frags) <= data_files(uri)  # the rows are on storage ...
    assert visible_ids(db) == [] and lance.dataset(uri).count_rows() == 0  # ... and nobody sees them
    v = lance.dataset(uri).version
    assert commit_fragments(uri, frags) == v + 1  # one new version for both batches
    assert sorted(visible_ids(db)) == ["a-0", "a-1", "b-0", "b-1", "c-0"]
    assert names_in(frags) <= referenced(uri)
    assert remove_orphans(uri) == 0  # committed files are never orphans
    assert sorted(visible_ids(db)) == ["a-0", "a-1", "b-0", "b-1", "c-0"]


def test_a_crash_before_the_commit_leaves_orphans_that_remove_orphans_deletes(db):
    uri = segments_uri(db)
    store = Store(db)
    writer = writer_for(store)
    committed = fragments_of(writer(to_stream_table([seg("a", 0), seg("a", 1)])))
    commit_fragments(uri, committed)
    lost = fragments_of(writer(to_stream_table([seg("b", 0), seg("b", 1), seg("a", 2)])))  # then the driver dies
    # a new process opens the database: only the committed rows exist for it
    assert sorted(visible_ids(db)) == ["a-0", "a-1"]
    orphans = names_in(lost)
    assert orphans and orphans <= data_files(uri) and not orphans & referenced(uri)
    assert remove_orphans(uri) == len(orphans)
    assert data_files(uri) == referenced(uri)  # exactly the committed files are left
    assert sorted(visible_ids(db)) == ["a-0", "a-1"]
    # the rerun writes the same segments again and commits them: each once
    commit_fragments(uri, fragments_of(writer(to_stream_table([seg("b", 0), seg("b", 1), seg("a", 2)]))))
    ids = visible_ids(db)
    assert sorted(ids) == ["a-0", "a-1", "a-2", "b-0", "b-1"] and len(ids) == len(set(ids))


def test_files_of_older_versions_are_kept_for_time_travel(db):
    uri = segments_uri(db)
    store = Store(db)
    writer = writer_for(store)
    commit_fragments(uri, fragments_of(writer(to_stream_table([seg("a", 0), seg("b", 0)]))))
    old = referenced(uri)
    ds = lance.dataset(uri)
    ds.delete("asset_id = 'a'")  # a whole-fragment or partial delete: a new version
    ds.optimize.compact_files(target_rows_per_fragment=1024 * 1024)  # rewrites: new files, old ones in old versions
    assert sorted(visible_ids(db)) == ["b-0"]
    lost = fragments_of(writer(to_stream_table([seg("c", 0)])))
    assert remove_orphans(uri) == len(names_in(lost))  # only the uncommitted file goes
    assert old <= data_files(uri)  # the earlier version still reads
    assert lance.dataset(uri, version=lance.dataset(uri).versions()[1]["version"]).count_rows() == 2


def test_files_older_than_the_last_finished_run_are_left_to_lance(tmp_path):
    """``since`` (the end of the last finished run) bounds the listing: an unreferenced file
    older than that is not this run's business (Lance's cleanup handles old versions)."""
    db = str(tmp_path / "lake.lance")
    uri = segments_uri(db)
    writer = writer_for(Store(db))
    old = names_in(fragments_of(writer(to_stream_table([seg("a", 0)]))))
    hour_ago = time.time() - 3600
    for name in old:
        os.utime(os.path.join(uri, "data", name), (hour_ago, hour_ago))
    new = names_in(fragments_of(writer(to_stream_table([seg("b", 0)]))))
    assert remove_orphans(uri, since=datetime.now(timezone.utc)) == len(new)
    assert data_files(uri) == old
    assert remove_orphans(uri) == len(old)  # without a bound every orphan goes
    assert data_files(uri) == set()
