"""End to end on Ray with every model role filled by a tiny model: every column is written."""

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

import medialake
from media import make_video, make_wav
from medialake.pipelines.config import load_config
from medialake.store import Store

pytestmark = pytest.mark.slow


def text_png(path):
    img = Image.new("RGB", (240, 90), "white")
    ImageDraw.Draw(img).text((12, 20), "BUDGET", fill="black", font=ImageFont.load_default(size=40))
    img.save(path)


@pytest.fixture(scope="module")
def lake(tmp_path_factory, tiny, ray_local):
    src = tmp_path_factory.mktemp("all_roles")
    make_video(src / "clip.mp4", seconds=3.0, fps=10, size=(64, 48))
    make_wav(src / "tone.wav", seconds=2.0)
    text_png(src / "sign.png")
    few = {"num_cpus": 0.2, "device": "cpu"}
    cfg = load_config(overrides={
        "decode": {"window_s": 2.0, "thumbnail_px": 96},
        "asr": {"model": str(tiny["whisper"]), **few, "options": {"max_new_tokens": 4}},
        "ocr": {**few},
        "captioner": {"model": str(tiny["assembly"]), **few, "options": {"max_new_tokens": 4}},
        "text": {**few},
        "image_text": {"model": str(tiny["clip"]), **few},
        "audio": {"model": str(tiny["clap"]), **few},
        "summarizer": {"model": "extractive"},
        "on_error": "raise",
    })
    db = str(tmp_path_factory.mktemp("db") / "lake.lance")
    summary = medialake.ingest(src, db, config=cfg)
    return db, summary


def test_every_role_writes_its_column(lake):
    db, summary = lake
    assert (summary.ingested, summary.failed) == (3, 0)
    segs = Store(db).table("segments").to_arrow()
    rows = segs.to_pylist()
    by_type = {}
    for r in rows:
        by_type.setdefault(r["media_type"], []).append(r)
    assert sorted(by_type) == ["audio", "image", "video"] and len(by_type["video"]) == 2
    assert segs.schema.field("image_vector").type.list_size == 16
    assert segs.schema.field("audio_vector").type.list_size == 24
    for r in by_type["video"]:  # picture and sound: every column
        assert r["transcript"] and r["caption"] and r["text"]
        assert len(r["image_vector"]) == 16 and len(r["audio_vector"]) == 24 and len(r["text_vector"]) == 384
    img = by_type["image"][0]
    assert "BUDGET" in (img["ocr_text"] or "") and img["caption"] and img["image_vector"] is not None
    assert img["audio_vector"] is None and img["transcript"] is None  # no sound: null, not zeros
    aud = by_type["audio"][0]
    assert aud["audio_vector"] is not None and aud["image_vector"] is None and aud["caption"] is None
    v = np.asarray(img["image_vector"], np.float32)
    assert abs(np.linalg.norm(v) - 1) < 1e-4


def test_each_asset_gets_a_summary(lake):
    db, _ = lake
    assets = Store(db).assets().to_pylist()
    assert all(a["status"] == "done" for a in assets)
    by = {a["uri"].rsplit("/", 1)[-1]: a for a in assets}
    assert "BUDGET" in by["sign.png"]["summary"]
    assert all(a["summary"] for a in assets)


def test_turning_a_role_off_leaves_its_columns_null(lake, tmp_path):
    db, _ = lake
    src = tmp_path / "more"
    src.mkdir()
    make_wav(src / "other.wav", seconds=1.5)
    cfg = load_config(overrides={"asr": {"model": None}, "ocr": {"model": None}, "text": {"num_cpus": 0.2}})
    assert medialake.ingest(src, db, config=cfg).ingested == 1
    segs = Store(db).table("segments").to_arrow().to_pylist()
    new = [r for r in segs if r["media_type"] == "audio" and r["audio_vector"] is None]
    assert len(new) == 1 and new[0]["transcript"] is None and new[0]["image_vector"] is None
    assert new[0]["text_vector"] is None  # no transcript, no OCR, no caption: nothing to embed
