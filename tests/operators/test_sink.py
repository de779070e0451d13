"""The sink's streaming protocol: segments first, a closing marker with the count; a failed
marker discards the segments already written for that asset."""

import pyarrow as pa

from medialake.operators.decode import to_stream_table
from medialake.operators.sink import LanceSink
from medialake.store import Store


def seg(aid, i):
    return {"asset_id": aid, "uri": f"/x/{aid}.wav", "media_type": "audio", "segment_index": i,
            "segment_id": f"{aid}-{i}", "modality": "audio", "start_s": float(i), "end_s": i + 1.0,
            "n_segments": None, "frames": [b"jpg"], "frame_times": [0.5]}


def marker(aid, n, error=None):
    return {"asset_id": aid, "uri": f"/x/{aid}.wav", "media_type": "audio", "segment_index": -1,
            "n_segments": n, "error": error, "duration_s": float(n)}


def test_marker_closes_the_asset_in_any_order_and_failure_discards(tmp_path):
    store = Store(str(tmp_path / "db"))
    sink = LanceSink(store, "v1", flush_rows=2)
    sink.write(to_stream_table([marker("b", 2), seg("a", 0), seg("a", 1), seg("c", 0)]))  # flushes a0, a1, c0
    assert store.assets().num_rows == 0  # nothing is done before its count is known and written
    sink.write(to_stream_table([marker("a", 2), seg("b", 0), marker("c", 0, "DecodeError: /x/c.wav: broken")]))
    sink.write(to_stream_table([seg("b", 1), seg("c", 1)]))  # c's late segment is dropped too
    counts = sink.close()
    assets = {r["asset_id"]: r for r in store.assets().to_pylist()}
    assert (counts.done, counts.failed) == (2, 1)
    assert assets["a"]["status"] == "done" and assets["a"]["n_segments"] == 2 and assets["a"]["duration_s"] == 2.0
    assert assets["c"]["status"] == "failed" and "broken" in assets["c"]["reason"]
    segs = store.table("segments").to_arrow()
    assert sorted(segs.column("segment_id").to_pylist()) == ["a-0", "a-1", "b-0", "b-1"]


def test_the_asset_language_is_the_one_spoken_longest(tmp_path):
    store = Store(str(tmp_path / "db"))
    sink = LanceSink(store, "v1", flush_rows=10)
    rows = [seg("m", 0), seg("m", 1), seg("m", 2), seg("q", 0)]
    for r, lang in zip(rows, ["cs", "nl", "nl", None]):
        r["language"] = lang
    batch = to_stream_table(rows[:3] + [marker("m", 3)])
    batch = batch.append_column("language", pa.array([r["language"] for r in rows[:3]] + [None], pa.string()))
    sink.write(batch)
    sink.close()
    got = {r["asset_id"]: r["language"] for r in store.assets().to_pylist()}
    assert got == {"m": "nl"}
    segs = store.table("segments").to_arrow()
    assert sorted(segs.column("language").to_pylist()) == ["cs", "nl", "nl"]


def video_seg(aid, i, dim=4):
    return {**seg(aid, i), "uri": f"/x/{aid}.mp4", "media_type": "video", "modality": "video",
            "frame_rows": [{"t_s": i + 0.25, "thumbnail": b"j", "vector": [1.0] + [0.0] * (dim - 1)},
                           {"t_s": i + 0.75, "thumbnail": b"k", "vector": [0.0, 1.0] + [0.0] * (dim - 2)}]}


def test_frames_are_committed_with_their_segments_and_go_with_a_failed_asset(tmp_path):
    from medialake.operators.sink import writer_for

    store = Store(str(tmp_path / "db"))
    store.ensure_vector_columns({"image_vector": 4})
    writer = writer_for(store)
    assert writer.frames is not None
    receipt = writer(to_stream_table([video_seg("v", 0), video_seg("v", 1), video_seg("w", 0)]))
    assert receipt.column("frame_fragments")[0].as_py()  # written by the worker, named on the receipt
    assert store.table("frames").count_rows() == 0  # not visible before the commit
    sink = LanceSink(store, "v1", flush_rows=100)
    sink.write(receipt)
    sink.write(writer(to_stream_table([marker("v", 2), marker("w", 0, "DecodeError: /x/w.mp4: broken")])))
    sink.close()
    frames = store.table("frames").to_arrow().to_pylist()
    assert sorted((f["segment_id"], f["t_s"]) for f in frames) == [("v-0", 0.25), ("v-0", 0.75), ("v-1", 1.25),
                                                                   ("v-1", 1.75)]
    assert {f["asset_id"] for f in frames} == {"v"} and [f["frame_index"] for f in frames[:2]] == [0, 1]
    store.delete_segments(["v"])
    assert store.table("frames").count_rows() == 0


def test_frame_fragments_of_a_crashed_run_are_removed(tmp_path):
    from medialake.operators.sink import writer_for

    store = Store(str(tmp_path / "db"))
    store.ensure_vector_columns({"image_vector": 4})
    writer_for(store)(to_stream_table([video_seg("v", 0)]))  # written, never committed: the run died
    data = tmp_path / "db" / "frames.lance" / "data"
    assert len(list(data.iterdir())) == 1
    assert store.remove_orphans() == 2  # the segments' fragment and the frames'
    assert list(data.iterdir()) == [] and store.table("frames").count_rows() == 0
