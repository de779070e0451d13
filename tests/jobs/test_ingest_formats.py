"""End to end through a local Ray: files made with Debian's ffmpeg that archives hold
(Theora/Vorbis Ogg, MKV with two languages and subtitles, WavPack, HEIC) are ingested, and
one that ffmpeg itself cannot decode fails with a reason naming the stream and the fix."""

import shutil
import subprocess

import pytest

import medialake
from ffmpeg_media import ffmpeg, pattern, sine
from medialake.pipelines.config import load_config
from medialake.store import Store

pytestmark = pytest.mark.slow


def test_archive_formats_ingest_end_to_end(tmp_path, ray_local):
    src = tmp_path / "archive"
    src.mkdir()
    ffmpeg(src / "screencast.ogv", *pattern(2, size="96x64"), *sine(2), "-c:v", "libtheora", "-c:a", "libvorbis",
           encoders=("libtheora", "libvorbis"), muxer="ogg")
    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,000\nHello\n")
    ffmpeg(src / "film.mkv", *pattern(2), *sine(2), *sine(2, freq=880), "-i", str(srt), "-map", "0:v", "-map", "1:a",
           "-map", "2:a", "-map", "3:s", "-c:v", "libx264", "-c:a", "libopus", "-c:s", "srt",
           "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=deu", encoders=("libx264", "libopus"))
    ffmpeg(src / "tape.wv", *sine(2), "-c:a", "wavpack", encoders=("wavpack",))
    ok = ffmpeg(tmp_path / "m.avi", *pattern(1), "-c:v", "mjpeg", encoders=("mjpeg",))
    (src / "unknown.avi").write_bytes(ok.read_bytes().replace(b"MJPG", b"QQQQ"))
    if shutil.which("heif-enc"):
        png = ffmpeg(tmp_path / "p.png", *pattern(1), "-frames:v", "1")
        subprocess.run(["heif-enc", str(png), "-o", str(src / "phone.heic")], check=True, capture_output=True)
    cfg = load_config(overrides={"asr": {"model": None}, "text": {"model": None}, "ocr": {"model": None},
                                 "decode": {"window_s": 1.0}})
    db = str(tmp_path / "lake.lance")
    summary = medialake.ingest(src, db, config=cfg)
    n = len(list(src.iterdir()))
    assert (summary.seen, summary.ingested, summary.failed) == (n, n - 1, 1), summary.failures
    assets = {a["uri"].rsplit("/", 1)[-1]: a for a in Store(db).assets().to_pylist()}
    assert "video stream #0" in assets["unknown.avi"]["reason"] and "ffmpeg -i" in assets["unknown.avi"]["reason"]
    assert assets["screencast.ogv"]["n_segments"] == 2 and "theora" in assets["screencast.ogv"]["codecs"]
    assert assets["tape.wv"]["media_type"] == "audio" and assets["tape.wv"]["n_segments"] == 2
    if "phone.heic" in assets:
        assert (assets["phone.heic"]["width"], assets["phone.heic"]["height"]) == (64, 48)
