"""Every container/codec PyAV can write here decodes into segments; audio of any rate and
channel count comes out as 16 kHz mono float32."""

import numpy as np
import pytest

from media import frame_index, make_audio_file, make_indexed_video
from medialake import arrow
from medialake.operators.decode import decode_file
from medialake.pipelines.config import DecodeConfig

import av

CFG = DecodeConfig(window_s=1.0, frames_per_segment=2, frame_px=32, thumbnail_px=32)


def record(path, media_type):
    return {"asset_id": "a1", "uri": str(path), "media_type": media_type, "size": path.stat().st_size, "mtime": None}


def _encoder(name):
    try:
        av.codec.Codec(name, "w")
        return True
    except Exception:
        return False


VIDEO = [("mp4", "libx264"), ("mp4", "libx265"), ("webm", "libvpx"), ("webm", "libvpx-vp9"),
         ("mkv", "libsvtav1"), ("mkv", "libaom-av1"), ("mpeg", "mpeg2video"), ("avi", "mpeg4"),
         ("avi", "mjpeg"), ("mov", "libx264"), ("ogv", "libtheora")]


@pytest.mark.parametrize("ext,codec", VIDEO, ids=[f"{e}-{c}" for e, c in VIDEO])
def test_video_container_codec_matrix(tmp_path, ext, codec):
    if not _encoder(codec):
        pytest.skip(f"PyAV here has no {codec} encoder to make a test file (decoding is FFmpeg's, untested here)")
    path = make_indexed_video(tmp_path / f"v.{ext}", seconds=3.0, fps=10, size=(64, 48), codec=codec)
    rows = decode_file(record(path, "video"), CFG)
    assert [r["modality"] for r in rows] == ["video"] * 3
    assert rows[-1]["end_s"] == pytest.approx(3.0, abs=0.15)
    for r in rows:
        assert r["thumbnail"] and len(r["frames"]) == 2
        # sampled frames show the frame shown at their time (10 fps: index = 10 t)
        for t in r["frame_times"]:
            assert r["start_s"] <= t < r["end_s"] + 0.11
    from PIL import Image
    import io
    img = Image.open(io.BytesIO(rows[1]["frames"][0]))
    assert img.size == (42, 32)  # shorter side frame_px, aspect kept
    assert abs(frame_index(img) - round(rows[1]["frame_times"][0] * 10)) <= 1


AUDIO = [("wav", "pcm_s16le", 44100, 2), ("flac", "flac", 22050, 1), ("mp3", "libmp3lame", 44100, 2),
         ("m4a", "aac", 48000, 2), ("ogg", "vorbis", 44100, 2), ("opus", "libopus", 48000, 2),
         ("wav", "pcm_s16le", 8000, 8), ("wav", "pcm_s16le", 96000, 1)]


@pytest.mark.parametrize("ext,codec,sr,ch", AUDIO, ids=[f"{e}-{c}-{s}-{n}ch" for e, c, s, n in AUDIO])
def test_audio_any_container_rate_and_channels_to_16k_mono(tmp_path, ext, codec, sr, ch):
    path = make_audio_file(tmp_path / f"a.{ext}", codec, seconds=2.0, sr=sr, channels=ch)
    rows = decode_file(record(path, "audio"), DecodeConfig(window_s=1.0))
    pcm = np.concatenate([arrow.pcm(r["audio"]) for r in rows])
    assert rows[0]["modality"] == "audio" and pcm.dtype == np.float32
    assert abs(len(pcm) - 32000) < 1600  # 2 s at 16 kHz, give or take codec padding
    assert rows[-1]["duration_s"] == pytest.approx(2.0, abs=0.1)
    assert np.abs(pcm[4000:20000]).max() > 0.1  # the tone survived
