"""Streaming audio decode (memory bounded by the segment, not the file) and VAD chunking."""

import numpy as np
import pytest

from media import make_wav
from medialake.operators.chunk import WindowPlanner, windows
from medialake import arrow
from medialake.operators.decode import decode_file, iter_file_rows
from medialake.operators.timeline import TimelineReport, iter_timeline
from medialake.operators.sources import Deadline
from medialake.pipelines.config import DecodeConfig


def record(path, media_type="audio"):
    return {"asset_id": "a1", "uri": str(path), "media_type": media_type, "size": path.stat().st_size, "mtime": None}


@pytest.mark.parametrize("duration", [0.3, 9.99, 10.0, 10.4, 10.6, 25.0, 31.2])
@pytest.mark.parametrize("overlap", [0.0, 2.5])
def test_streaming_windows_equal_the_offline_windows(duration, overlap):
    p = WindowPlanner(10.0, overlap)
    got = []
    for known in np.arange(0.0, duration, 0.37):
        got += p.ready(float(known))
    got += p.finish(duration)
    assert got == windows(duration, 10.0, overlap)


def test_long_audio_is_decoded_window_by_window(tmp_path):
    path = make_wav(tmp_path / "long.wav", seconds=60.0, sr=16000, channels=1)
    info = TimelineReport()
    cfg = DecodeConfig(window_s=5.0)
    rows = iter_timeline(str(path), "audio", cfg, Deadline(60, str(path)), info)
    first = next(rows)  # the first segment arrives before the file is read to the end
    assert first["end_s"] == 5.0 and info.max_buffered_s < 7.0
    rest = list(rows)
    assert len(rest) == 11 and rest[-1]["end_s"] == pytest.approx(60.0, abs=0.05)
    # never more than about one window of PCM held, for a 60 s file
    assert info.max_buffered_s < 7.0
    pcm = np.concatenate([arrow.pcm(first["audio"])] + [arrow.pcm(r["audio"]) for r in rest])
    assert abs(len(pcm) - 60 * 16000) < 200


def test_vad_chunking_finds_the_spoken_sentences(samples):
    # lighthouse_keeper.mp3: one sentence from 0.5 s, another from 11.0 s, silence between
    path = samples / "audio" / "lighthouse_keeper.mp3"
    rows = decode_file(record(path), DecodeConfig(audio_chunking="vad"))
    spans = [(r["start_s"], r["end_s"]) for r in rows]
    assert len(spans) == 2
    assert spans[0][0] < 0.6 and 3.5 < spans[0][1] < 6.0
    assert 10.3 < spans[1][0] < 11.2 and spans[1][1] > 13.5
    assert all(abs(len(arrow.pcm(r["audio"])) - (r["end_s"] - r["start_s"]) * 16000) < 20 for r in rows)


def test_vad_caps_segment_length(samples):
    path = samples / "audio" / "lighthouse_keeper.mp3"
    rows = decode_file(record(path), DecodeConfig(audio_chunking="vad", vad_max_segment_s=2.0))
    assert len(rows) >= 4 and max(r["end_s"] - r["start_s"] for r in rows) <= 2.05


def test_eight_channel_audio_is_downmixed(tmp_path):
    from media import make_audio_file

    path = make_audio_file(tmp_path / "eight.wav", "pcm_s16le", seconds=1.0, sr=48000, channels=8)
    rows = list(iter_file_rows(record(path), DecodeConfig()))
    assert rows[-1]["n_segments"] == 1 and rows[0]["modality"] == "audio"
    assert len(arrow.pcm(rows[0]["audio"])) == pytest.approx(16000, abs=100)
