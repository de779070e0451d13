"""A lost, cut-short or overwritten Lance data file: found at open, named, repaired.

The lake has one ``segments`` fragment per asset group (no compaction), so damaging one
data file loses exactly the segments of its assets; after ``repair`` search answers from
what is intact and those assets are marked for the next ingest.
"""

from __future__ import annotations

import os
from collections import Counter

import lance
import pyarrow as pa
import pytest

from search_lakes import ASSETS, SEGMENTS, write_lake

from medialake.errors import InputError
from medialake.integrity import check, ensure_intact, repair, table_uri
from medialake.jobs.cli import main
from medialake.search.query import search
from medialake.store import Store, ensure_fts_index

GROUPS = [("v1", "v2"), ("a1",), ("a2", "i1")]  # one segments fragment each


@pytest.fixture
def lake(tmp_path) -> str:
    db = str(tmp_path / "lake.lance")
    n = Counter(s["asset_id"] for s in SEGMENTS)
    assets = [{**a, "n_segments": n[a["asset_id"]]} for a in ASSETS]
    store = write_lake(db, assets, [s for s in SEGMENTS if s["asset_id"] in GROUPS[0]])
    for group in GROUPS[1:]:
        store.add("segments", pa.Table.from_pylist([s for s in SEGMENTS if s["asset_id"] in group]))
    ensure_fts_index(store.table("segments"), "text")
    return db


def _data_file(db: str, table: str, holding: str) -> str:
    """The data file of ``table`` whose fragment holds asset ``holding``."""
    ds = lance.dataset(table_uri(db, table))
    for frag in ds.get_fragments():
        if holding in frag.to_table(columns=["asset_id"]).column("asset_id").to_pylist():
            return os.path.join(table_uri(db, table), "data", frag.data_files()[0].path)
    raise AssertionError(holding)


def _uris(hits) -> set[str]:
    return {h["asset_uri"] for h in hits}


def test_intact_lake_passes_and_answers(lake):
    ensure_intact(lake)
    assert check(lake, deep=True) == []
    assert "/archive/radio/lighthouse.mp3" in _uris(search("keeper lamp tower", db=lake, min_score=0))


def test_missing_segments_file_is_named_at_open_then_repaired(lake, capsys):
    path = _data_file(lake, "segments", "a1")
    os.remove(path)
    with pytest.raises(InputError) as e:
        search("budget", db=lake, min_score=0)
    msg = str(e.value)
    assert os.path.basename(path) in msg and "missing" in msg and "doctor --db" in msg and "--repair" in msg

    assert main(["doctor", "--db", lake]) == 1
    assert os.path.basename(path) in capsys.readouterr().out
    assert main(["doctor", "--db", lake, "--repair"]) == 0
    assert "1 assets marked" in capsys.readouterr().out

    hits = _uris(search("quarterly budget review", db=lake, min_score=0))
    assert "/archive/talks/budget.mp4" in hits  # intact fragments still answer
    assert "/archive/radio/lighthouse.mp3" not in _uris(search("keeper lamp tower", db=lake, min_score=0))
    status = {a["asset_id"]: a["status"] for a in lance.dataset(table_uri(lake, "assets")).to_table().to_pylist()}
    assert status["a1"] == "failed" and all(status[a] == "done" for a in ("v1", "v2", "a2", "i1"))
    assert main(["doctor", "--db", lake]) == 0


def test_cut_short_file_is_found_by_the_cheap_check(lake):
    path = _data_file(lake, "segments", "a2")
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    damage = check(lake)
    assert [d.fragment_id for d in damage] and "cut short" in damage[0].problem
    with pytest.raises(InputError, match="damaged"):
        ensure_intact(lake)


def test_overwritten_in_place_is_found_by_doctor(lake):
    path = _data_file(lake, "segments", "v1")
    size = os.path.getsize(path)
    with open(path, "r+b") as f:  # garbage over the column metadata, same size, footer kept
        f.seek(size // 2)
        f.write(b"\xa5" * (size // 2 - 64))
    assert check(lake, deep=True), "a deep read must fail on the overwritten file"
    report = repair(Store(lake, create=False), check(lake, deep=True))
    assert report["dropped_fragments"] == 1 and report["assets_to_redo"] == 2  # v1 and v2
    assert check(lake, deep=True) == []


def test_missing_assets_file_restores_the_previous_version(lake):
    store = Store(lake, create=False)
    before = store.assets().num_rows
    store.upsert_assets(pa.Table.from_pylist([{**store.assets(where="asset_id = 'i1'").to_pylist()[0],
                                               "reason": "touched"}]))
    ds = lance.dataset(table_uri(lake, "assets"))
    newest = max(ds.get_fragments(), key=lambda f: f.fragment_id)
    os.remove(os.path.join(table_uri(lake, "assets"), "data", newest.data_files()[0].path))
    with pytest.raises(InputError, match="assets: fragment"):
        ensure_intact(lake)
    report = repair(Store(lake, create=False))
    assert "assets" in report["restored"]
    assert Store(lake, create=False).assets().num_rows == before
    ensure_intact(lake)
