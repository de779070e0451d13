"""Workers write segment fragments, the driver commits them: a fragment is invisible until
committed, a receipt tells the sink what it holds (and which languages were spoken for how
long), and a fragment no version references is removed as an orphan."""

import json

import pyarrow as pa

from medialake.operators.decode import to_stream_table
from medialake.operators.fragments import RECEIPT, commit_fragments, fragments_of, remove_orphans, segments_uri
from medialake.operators.sink import LanceSink, writer_for
from medialake.store import Store


def seg(aid, i, lang=None, secs=1.0):
    return {"asset_id": aid, "uri": f"/x/{aid}.wav", "media_type": "audio", "segment_index": i,
            "segment_id": f"{aid}-{i}", "modality": "audio", "start_s": float(i), "end_s": i + secs,
            "n_segments": None, "language": lang}


def marker(aid, n):
    return {"asset_id": aid, "uri": f"/x/{aid}.wav", "media_type": "audio", "segment_index": -1,
            "n_segments": n, "duration_s": float(n)}


def stream(rows):
    t = to_stream_table(rows)
    if "language" not in t.column_names:
        t = t.append_column("language", pa.array([r.get("language") for r in rows], pa.string()))
    return t


def test_a_receipt_counts_segments_per_asset_and_the_fragment_stays_hidden_until_committed(tmp_path):
    store = Store(str(tmp_path / "db"))
    writer = writer_for(store)
    receipt = writer(stream([seg("a", 0, "nl", 2.0), seg("a", 1, "cs"), seg("b", 0), marker("b", 1)]))
    assert receipt.schema == RECEIPT
    rows = {(r["asset_id"], r["segment_index"] >= 0): r for r in receipt.to_pylist()}
    assert rows[("a", True)]["written"] == 2 and rows[("b", True)]["written"] == 1
    assert json.loads(rows[("a", True)]["spoken"]) == {"nl": 2.0, "cs": 1.0}
    assert rows[("b", True)]["spoken"] is None and rows[("b", False)]["n_segments"] == 1
    frags = fragments_of(receipt)
    assert len(frags) >= 1
    assert store.table("segments").count_rows() == 0  # written, not committed
    commit_fragments(segments_uri(store.uri), frags)
    store.forget("segments")
    assert sorted(store.table("segments").to_arrow().column("segment_id").to_pylist()) == ["a-0", "a-1", "b-0"]


def test_the_sink_commits_receipts_and_names_the_language_spoken_longest(tmp_path):
    store = Store(str(tmp_path / "db"))
    writer = writer_for(store)
    sink = LanceSink(store, "v1", flush_rows=100)
    # the same asset's segments arrive in two receipts (two workers): seconds add up across them
    sink.write(writer(stream([seg("m", 0, "cs", 3.0), seg("m", 1, "nl", 2.0)])))
    sink.write(writer(stream([seg("m", 2, "nl", 2.0), marker("m", 3)])))
    counts = sink.close()
    assert (counts.done, counts.segments) == (1, 3) and counts.commits >= 1
    (asset,) = store.assets().to_pylist()
    assert asset["status"] == "done" and asset["language"] == "nl"  # 4 s of nl beat 3 s of cs


def test_fragments_never_committed_are_removed_as_orphans(tmp_path):
    store = Store(str(tmp_path / "db"))
    writer = writer_for(store)
    uri = segments_uri(store.uri)
    commit_fragments(uri, fragments_of(writer(stream([seg("a", 0)]))))
    writer(stream([seg("z", 0)]))  # a crash: written, never committed
    assert remove_orphans(uri) == 1
    assert remove_orphans(uri) == 0
    store.forget("segments")
    assert store.table("segments").to_arrow().column("segment_id").to_pylist() == ["a-0"]
