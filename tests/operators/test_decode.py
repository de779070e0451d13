import io

import numpy as np
import pytest
from PIL import Image

from media import make_corrupt, make_png, make_video, make_wav
from medialake.errors import DecodeError
from medialake import arrow
from medialake.operators.decode import decode_batch, decode_file
from medialake.pipelines.config import DecodeConfig
from medialake.pipelines.plan import records_table
from medialake.operators.scan import scan

CFG = DecodeConfig(window_s=2.0, thumbnail_px=32)


def record(path, media_type):
    return {"asset_id": "a1", "uri": str(path), "media_type": media_type, "size": path.stat().st_size, "mtime": None}


def test_video_with_audio_becomes_windows_with_thumbnails_and_16k_audio(tmp_path):
    path = make_video(tmp_path / "v.mp4", seconds=5.0, fps=10, size=(64, 48))
    rows = decode_file(record(path, "video"), CFG)
    assert [(r["start_s"], r["end_s"]) for r in rows] == [(0.0, 2.0), (2.0, 4.0), (4.0, 5.0)]
    assert all(r["n_segments"] == 3 and r["error"] is None for r in rows)
    assert [r["segment_index"] for r in rows] == [0, 1, 2]
    thumb = Image.open(io.BytesIO(rows[0]["thumbnail"]))
    assert thumb.format == "JPEG" and max(thumb.size) <= 32
    # 2 s of 16 kHz mono float32 per full window
    assert abs(len(arrow.pcm(rows[0]["audio"])) - 32000) <= 16
    assert rows[0]["width"] == 64 and rows[0]["height"] == 48


def test_keyframe_thumbnails_follow_the_timeline(tmp_path):
    # frame i is grey level (i*8)%256 at 10 fps: the frame at t has level ~ (t*10*8)%256
    path = make_video(tmp_path / "v.mp4", seconds=3.0, fps=10, audio=False)
    rows = decode_file(record(path, "video"), DecodeConfig(window_s=1.0))
    levels = [np.asarray(Image.open(io.BytesIO(r["thumbnail"])).convert("L")).mean() for r in rows]
    assert levels == sorted(levels) and levels[-1] - levels[0] > 60


def test_stereo_44k_wav_is_resampled_to_16k_mono(tmp_path):
    path = make_wav(tmp_path / "a.wav", seconds=3.0, sr=44100, channels=2)
    rows = decode_file(record(path, "audio"), DecodeConfig(window_s=10.0))
    assert len(rows) == 1 and rows[0]["duration_s"] == pytest.approx(3.0, abs=0.05)
    pcm = arrow.pcm(rows[0]["audio"])
    assert pcm.dtype == np.float32 and abs(len(pcm) - 48000) < 200
    # the 0.3-amplitude tone survives the downmix (FFmpeg mixes L+R at -3 dB: 0.3 * sqrt(2))
    assert 0.25 < np.abs(pcm).max() < 0.45


def test_image_is_one_segment_with_thumbnail(tmp_path):
    path = make_png(tmp_path / "p.png", size=(80, 60))
    rows = decode_file(record(path, "image"), CFG)
    assert len(rows) == 1 and rows[0]["modality"] == "image" and rows[0]["audio"] is None
    assert (rows[0]["width"], rows[0]["height"]) == (80, 60)
    assert Image.open(io.BytesIO(rows[0]["thumbnail"])).getpixel((5, 5))[0] > 150


def test_image_pixel_guard_names_the_limit(tmp_path):
    path = make_png(tmp_path / "big.png", size=(200, 200))
    with pytest.raises(DecodeError, match="max_image_pixels"):
        decode_file(record(path, "image"), DecodeConfig(max_image_pixels=1000))


def test_shipped_samples_decode(samples):
    rows = decode_file(record(samples / "video" / "cockatoo_budget.mp4", "video"), DecodeConfig())
    assert len(rows) == 2 and rows[-1]["end_s"] == pytest.approx(14.0, abs=0.2)
    rows = decode_file(record(samples / "audio" / "lighthouse_keeper.mp3", "audio"), DecodeConfig())
    assert len(rows) == 2


def test_corrupt_file_raises_decode_error(tmp_path):
    path = make_corrupt(tmp_path / "broken.mp4")
    with pytest.raises(DecodeError, match="broken.mp4"):
        decode_file(record(path, "video"), CFG)


def test_decode_batch_turns_a_broken_file_into_a_failed_row(tmp_path):
    good = make_png(tmp_path / "ok.png")
    bad = make_corrupt(tmp_path / "bad.mp4")
    recs = scan(str(tmp_path), {"video": [".mp4"], "image": [".png"]})
    out = decode_batch(records_table(recs), CFG).to_pylist()
    by_uri = {}
    for r in out:
        by_uri.setdefault(r["uri"], []).append(r)
    assert len(by_uri[str(bad)]) == 1 and "bad.mp4" in by_uri[str(bad)][0]["error"]
    assert by_uri[str(bad)][0]["segment_index"] == -1
    # the good image: its segment, then the marker that closes it (n_segments = 1, no error)
    assert [(r["segment_index"], r["n_segments"], r["error"]) for r in by_uri[str(good)]] == [(0, None, None), (-1, 1, None)]
    with pytest.raises(DecodeError):
        decode_batch(records_table(recs), CFG, raise_errors=True)


def test_ocr_frames_are_the_sampled_frames_at_960_px_and_can_be_switched_off(tmp_path):
    path = make_video(tmp_path / "hd.mp4", seconds=2.0, fps=5, size=(1280, 720), audio=False)
    rows = decode_file(record(path, "video"), DecodeConfig(window_s=2.0, frames_per_segment=3))
    row = rows[0]
    assert len(row["ocr_frames"]) == len(row["frames"]) == 3
    sizes = {Image.open(io.BytesIO(f)).size for f in row["ocr_frames"]}
    assert sizes == {(960, 540)}
    assert {Image.open(io.BytesIO(f)).size for f in row["frames"]} == {(398, 224)}
    off = decode_file(record(path, "video"), DecodeConfig(window_s=2.0, frames_per_segment=3, ocr_px=0))
    assert off[0]["ocr_frames"] is None and len(off[0]["frames"]) == 3
    small = make_video(tmp_path / "small.mp4", seconds=1.0, fps=5, size=(64, 48), audio=False)
    got = decode_file(record(small, "video"), DecodeConfig(window_s=1.0, frames_per_segment=1))[0]
    assert Image.open(io.BytesIO(got["ocr_frames"][0])).size == (64, 48)  # never enlarged
    png = make_png(tmp_path / "p.png", size=(1600, 1200))
    still = decode_file(record(png, "image"), DecodeConfig())[0]
    assert Image.open(io.BytesIO(still["ocr_frames"][0])).size == (960, 720)
