"""Frames reach the image roles: per-frame vectors in the ``frames`` table give a visual
moment its second. A video of known shots (flat colours cut at known times) is ingested
as ONE segment with the tiny random CLIP; a picture of one shot, as an image query, must
find that shot's second, which the segment alone (0-9 s) cannot say."""

import io

import av
import numpy as np
import pytest
from PIL import Image

import medialake
from media import make_scenes_video
from medialake.operators.video import frame_at
from medialake.pipelines.config import load_config
from medialake.search.config import SearchConfig
from medialake.store import Store

pytestmark = pytest.mark.slow

CUTS = (3.0, 6.0)  # red [0, 3), green [3, 6), blue [6, 9)
FRAMES = 6  # one 9 s segment: frames at 0.75, 2.25, 3.75, 5.25, 6.75, 8.25


@pytest.fixture(scope="module")
def lake(tmp_path_factory, tiny, ray_local):
    src = tmp_path_factory.mktemp("shots")
    make_scenes_video(src / "shots.mp4", cuts_s=CUTS, seconds=9.0, fps=10, size=(96, 64))
    few = {"num_cpus": 0.2, "device": "cpu"}
    cfg = load_config(overrides={
        "decode": {"window_s": 9.0, "frames_per_segment": FRAMES},
        "asr": {"model": None}, "ocr": {"model": None}, "text": {"model": None},
        "image_text": {"model": str(tiny["clip"]), **few},
        "summarizer": {"model": "extractive"},
        "on_error": "raise",
    })
    db = str(tmp_path_factory.mktemp("db") / "lake.lance")
    summary = medialake.ingest(src, db, config=cfg)
    assert (summary.ingested, summary.failed) == (1, 0)
    return db, src / "shots.mp4"


def test_every_sampled_frame_is_a_row_of_the_frames_table(lake):
    db, _ = lake
    store = Store(db)
    segs = store.table("segments").to_arrow().to_pylist()
    frames = store.table("frames").to_arrow().to_pylist()
    assert len(segs) == 1
    assert len(frames) == FRAMES
    assert {f["segment_id"] for f in frames} == {segs[0]["segment_id"]}
    times = sorted(f["t_s"] for f in frames)
    assert all(0 <= t < 9 for t in times) and len(set(times)) == FRAMES
    assert all(abs(a - b) > 1.0 for a, b in zip(times, times[1:]))  # spread over the segment
    vecs = np.array([f["vector"] for f in frames], np.float32)
    assert vecs.shape == (FRAMES, 16) and np.allclose(np.linalg.norm(vecs, axis=1), 1, atol=1e-4)
    pooled = vecs.mean(axis=0)
    pooled /= np.linalg.norm(pooled)
    assert np.allclose(np.asarray(segs[0]["image_vector"], np.float32), pooled, atol=1e-4)  # the segment's vector
    for f in frames:
        with Image.open(io.BytesIO(f["thumbnail"])) as im:
            assert max(im.size) <= 160


@pytest.mark.parametrize("at,shot", [(1.5, (0.0, 3.0)), (4.5, (3.0, 6.0)), (7.5, (6.0, 9.0))])
def test_an_image_query_with_one_shots_frame_finds_that_shots_second(lake, tiny, tmp_path, at, shot):
    db, video = lake
    with av.open(str(video)) as c:
        frame_at(c, at).save(tmp_path / "query.png")
    cfg = SearchConfig(models={"image_text": str(tiny["clip"])}, weights={"phash": 0.0}, collapse_duplicates=False)
    hits = medialake.search(image=tmp_path / "query.png", db=db, config=cfg, min_score=0, explain=True)
    assert hits, "the image query found nothing"
    top = hits[0]
    assert any(n.startswith("frames<-image") for n in top["explain"]["lists"])
    assert shot[0] <= top["start_s"] < shot[1]  # the shot, not the 0-9 s segment
    assert top["end_s"] - top["start_s"] <= 1.0
    with Image.open(io.BytesIO(top["thumbnail"])) as im:  # the frame's own picture
        r, g, b = np.asarray(im.convert("RGB"), np.float32).reshape(-1, 3).mean(axis=0)
    dominant = int(np.argmax([r, g, b]))
    assert dominant == [0, 1, 2][int(shot[0] // 3)]


def test_a_text_query_searches_the_frames_too(lake, tiny):
    db, _ = lake
    cfg = SearchConfig(models={"image_text": str(tiny["clip"])}, collapse_duplicates=False)
    hits = medialake.search("a blue screen", db=db, config=cfg, min_score=0, explain=True)
    assert hits and any(n.startswith("frames<-text") for n in hits[0]["explain"]["lists"])
    assert hits[0]["end_s"] - hits[0]["start_s"] <= 1.0


def test_frames_are_not_searched_under_a_language_filter(lake, tiny, tmp_path):
    db, video = lake
    with av.open(str(video)) as c:
        frame_at(c, 7.5).save(tmp_path / "query.png")
    cfg = SearchConfig(models={"image_text": str(tiny["clip"])}, weights={"phash": 0.0}, collapse_duplicates=False)
    # the video has no speech: no segment has a language, so nothing matches, frames or not
    assert medialake.search(image=tmp_path / "query.png", db=db, config=cfg, min_score=0, language="en") == []


def test_deleting_an_assets_segments_deletes_its_frames(lake):
    db, video = lake
    store = Store(db)
    before = store.table("frames").count_rows()
    store.delete_segments([store.assets(["asset_id"]).column("asset_id")[0].as_py()])
    assert store.table("segments").count_rows() == 0 and store.table("frames").count_rows() == 0 < before


def caption_video(path, text, seconds=2.0, fps=5, size=(1280, 720), px=24):
    """A 1280x720 video, a slowly brightening scene with a small caption that stays on screen."""
    from fractions import Fraction

    from PIL import ImageDraw

    from tests_fonts import font

    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=Fraction(fps, 1))
        vs.width, vs.height, vs.pix_fmt = size[0], size[1], "yuv420p"
        for i in range(int(seconds * fps)):
            img = Image.new("RGB", size, (30 + 4 * i, 40, 60))
            ImageDraw.Draw(img).text((90, size[1] - 80), text, fill="white", font=font(px))
            for p in vs.encode(av.VideoFrame.from_ndarray(np.asarray(img), format="rgb24")):
                c.mux(p)
        for p in vs.encode(None):
            c.mux(p)
    return path


def test_a_24px_caption_in_a_1280x720_video_is_found_once(tmp_path, ray_local):
    src = tmp_path / "src"
    src.mkdir()
    caption_video(src / "news.mp4", "Harbour master opens the lantern museum")
    cfg = load_config(overrides={"decode": {"window_s": 2.0}, "asr": {"model": None},
                                 "ocr": {"num_cpus": 0.2}, "text": {"num_cpus": 0.2}, "on_error": "raise"})
    db = str(tmp_path / "db.lance")
    assert medialake.ingest(src, db, config=cfg).ingested == 1
    seg = Store(db).table("segments").to_arrow().to_pylist()[0]
    assert "lantern museum" in (seg["ocr_text"] or "").lower()
    assert (seg["ocr_text"] or "").lower().count("lantern") == 1  # four frames, read once
    hits = medialake.search("lantern museum", db=db)
    assert hits and hits[0]["asset_uri"].endswith("news.mp4")
