"""Sparse frame sampling, rotation, variable frame rate, odd track layouts, shots."""

import io

import av
import pytest
from PIL import Image

from media import frame_index, make_indexed_video, make_scenes_video
from medialake.operators.decode import decode_file, iter_file_rows
from medialake.operators.video import FrameSampler
from medialake.pipelines.config import DecodeConfig


def record(path, media_type="video"):
    return {"asset_id": "a1", "uri": str(path), "media_type": media_type, "size": path.stat().st_size, "mtime": None}


def _sample(path, times):
    with av.open(str(path)) as c:
        s = FrameSampler(c)
        got = s.images(times)
        total = c.streams.video[0].frames
    return s, got, total


def test_one_fps_from_30fps_decodes_a_fraction_of_the_frames(tmp_path):
    # 1-second GOPs (phone-like): every wanted frame sits on or just after a keyframe
    path = make_indexed_video(tmp_path / "v.mp4", seconds=10, fps=30, gop=30, bframes=2, options={"sc_threshold": "0"})
    s, got, total = _sample(path, [float(t) for t in range(10)])
    assert total == 300 and len(got) == 10
    assert s.decoded <= 40, f"decoded {s.decoded} of {total} frames for 10 samples"
    assert [frame_index(img) for _, img in got] == [(30 * t) % 256 for t in range(10)]


def test_long_gops_skip_non_reference_frames_and_stay_exact(tmp_path):
    # x264's default keyframe interval (250) with B-frames: no keyframe between samples,
    # so the sampler decodes forward but skips the frames nothing depends on
    path = make_indexed_video(tmp_path / "v.mp4", seconds=8, fps=30, bframes=3, options={"b-pyramid": "none"})
    s, got, total = _sample(path, [0.5 + t for t in range(8)])
    assert s.decoded < 0.6 * total, f"decoded {s.decoded} of {total}"
    assert [frame_index(img) for _, img in got] == [(15 + 30 * t) % 256 for t in range(8)]


def _sample_tol(path, times, tol):
    with av.open(str(path)) as c:
        s = FrameSampler(c, tolerance_s=tol)
        return s, s.images(times), c.streams.video[0].frames


def test_with_a_tolerance_every_b_frame_is_skipped_when_the_probe_proves_it_safe(tmp_path):
    # x264 with one reference frame: P-frames never refer to B-frames
    path = make_indexed_video(tmp_path / "v.mp4", seconds=24, fps=30, bframes=3, options={"ref": "1"})
    times = [0.5 + t for t in range(24)]
    exact, _, total = _sample_tol(path, times, 0.0)
    s, got, _ = _sample_tol(path, times, 0.2)
    assert s.skip_b is True and exact.skip_b is False
    assert s.decoded - s.probe_decoded < 0.75 * exact.decoded, f"{s.decoded} ({s.probe_decoded} probing) vs {exact.decoded}"
    for want, (t, img) in zip(times, got):
        assert want - 0.2 - 1e-6 <= t <= want + 1e-6         # never later, at most the tolerance early
        assert frame_index(img) == round(t * 30) % 256      # the reported time is the frame's own


def test_the_probe_refuses_b_frame_skipping_when_it_would_change_pictures_or_times(tmp_path):
    path = make_indexed_video(tmp_path / "v.mp4", seconds=24, fps=30, bframes=3, options={"ref": "1"})
    s, got, _ = _sample_tol(path, [0.5, 2.5, 4.5], 0.05)    # I/P frames are up to 4 frames apart
    assert s.skip_b is False and s.probe_decoded > 0
    assert [frame_index(img) for _, img in got] == [15, 75, 135]
    short = make_indexed_video(tmp_path / "s.mp4", seconds=6, fps=30, bframes=3, options={"ref": "1"})
    s, got, _ = _sample_tol(short, [0.5, 2.5, 4.5], 0.2)     # too short to be worth the probe
    assert s.skip_b is False and s.probe_decoded == 0
    if "libx265" not in av.codecs_available:
        pytest.skip("no libx265 encoder in this PyAV build")
    # x265 lets P/B frames refer to B-frames: skipping them would corrupt the picture
    path = make_indexed_video(tmp_path / "h.mp4", seconds=24, fps=30, codec="libx265", size=(64, 64))
    s, got, _ = _sample_tol(path, [0.5, 2.5, 4.5], 0.5)
    assert s.skip_b is False and s.probe_decoded > 0
    assert [frame_index(img) for _, img in got] == [15, 75, 135]


def test_far_apart_times_seek_instead_of_decoding_forward(tmp_path):
    path = make_indexed_video(tmp_path / "v.mp4", seconds=20, fps=30, gop=30, options={"sc_threshold": "0"})
    s, got, total = _sample(path, [2.0, 11.0, 19.0])
    assert s.seeks >= 2 and s.decoded <= 10
    assert [frame_index(img) for _, img in got] == [60, 330 % 256, 570 % 256]


def test_rotation_metadata_is_applied(tmp_path):
    path = make_indexed_video(tmp_path / "phone.mp4", seconds=1, fps=10, size=(64, 32), rotation=90)
    rows = decode_file(record(path), DecodeConfig(window_s=1.0, frames_per_segment=1, frame_px=32))
    assert Image.open(io.BytesIO(rows[0]["frames"][0])).size == (32, 64)
    assert Image.open(io.BytesIO(rows[0]["thumbnail"])).size[1] > Image.open(io.BytesIO(rows[0]["thumbnail"])).size[0]


def test_variable_frame_rate_times_come_from_timestamps(tmp_path):
    # 10 frames at 10 fps, frame 10 at 1.0 s stays on screen until frame 11 at 3.1 s
    pts = [i * 100 for i in range(10)] + [1000 + 2000 + i * 100 for i in range(11)]
    pts[10] = 1000
    path = make_indexed_video(tmp_path / "vfr.mkv", fps=10, pts_ms=sorted(pts))
    with av.open(str(path)) as c:
        got = FrameSampler(c).images([0.5, 2.0, 3.5])
    assert [frame_index(img) for _, img in got] == [5, 10, 15]  # frame 10 is on screen at 2.0
    assert [t for t, _ in got] == pytest.approx([0.5, 1.0, 3.5], abs=0.01)


def test_audio_longer_than_video_and_two_audio_tracks(tmp_path):
    path = make_indexed_video(tmp_path / "v.mkv", seconds=2, fps=10, audio_s=5.0, audio_tracks=2)
    rows = decode_file(record(path), DecodeConfig(window_s=2.0))
    assert rows[-1]["end_s"] == pytest.approx(5.0, abs=0.1) and rows[0]["duration_s"] == pytest.approx(5.0, abs=0.1)
    assert all(r["audio"] for r in rows) and rows[-1]["thumbnail"]  # past the video: its last frame


def test_video_file_without_picture_becomes_audio_segments(tmp_path):
    from media import make_audio_file

    path = make_audio_file(tmp_path / "sound_only.mp4", "aac", seconds=2.0, sr=16000, channels=1)
    rows = decode_file(record(path), DecodeConfig(window_s=1.0))
    assert {r["modality"] for r in rows} == {"audio"} and rows[0]["media_type"] == "audio"
    assert all(r["thumbnail"] is None for r in rows)


def test_frames_per_segment_at_model_size(tmp_path):
    path = make_indexed_video(tmp_path / "v.mp4", seconds=4, fps=10, size=(96, 64))
    rows = decode_file(record(path), DecodeConfig(window_s=2.0, frames_per_segment=4, frame_px=32))
    assert [len(r["frames"]) for r in rows] == [4, 4]
    # wanted at 2.25, 2.75, ...: the frames on screen then (10 fps) are those of 2.2, 2.7, ...
    assert rows[1]["frame_times"] == pytest.approx([2.2, 2.7, 3.2, 3.7], abs=0.01)
    imgs = [Image.open(io.BytesIO(b)) for b in rows[1]["frames"]]
    assert all(i.format == "JPEG" and i.size == (48, 32) for i in imgs)
    assert [frame_index(i) for i in imgs] == [round(t * 10) for t in rows[1]["frame_times"]]


def test_shot_chunking_cuts_at_scene_changes(tmp_path):
    path = make_scenes_video(tmp_path / "scenes.mp4", cuts_s=(2.0, 5.0), seconds=8.0)
    cfg = DecodeConfig(video_chunking="shots", shot_fps=4, min_shot_s=1.0, max_shot_s=30.0, frames_per_segment=1)
    rows = decode_file(record(path), cfg)
    bounds = [(r["start_s"], r["end_s"]) for r in rows]
    assert len(bounds) == 3 and bounds[0][0] == 0.0 and bounds[-1][1] == pytest.approx(8.0, abs=0.1)
    assert bounds[1][0] == pytest.approx(2.0, abs=0.26) and bounds[2][0] == pytest.approx(5.0, abs=0.26)
    # a maximum shot length splits long shots evenly
    rows = decode_file(record(path), cfg.model_copy(update={"max_shot_s": 2.0}))
    assert max(r["end_s"] - r["start_s"] for r in rows) <= 2.0 + 1e-6 and len(rows) >= 5


def test_per_file_time_limit_fails_the_file_quickly(tmp_path):
    import time

    from medialake.errors import DecodeTimeout

    path = make_indexed_video(tmp_path / "v.mp4", seconds=20, fps=30, size=(160, 120), audio_s=20.0)
    t0 = time.monotonic()
    with pytest.raises(DecodeTimeout, match="decode.timeout_s"):
        list(iter_file_rows(record(path), DecodeConfig(timeout_s=0.05, window_s=1.0)))
    assert time.monotonic() - t0 < 2.0
