"""What archives hold, made with Debian's ffmpeg: if ffmpeg decodes a whole file, the
decode operator turns it into segments; where this ffmpeg lacks an encoder the case is
skipped, naming it. Files are tiny (64x48, 1-2 s) so the matrix stays fast.
"""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest
from PIL import Image

from ffmpeg_media import concat_bytes, ffmpeg, ffmpeg_decodes, need, pattern, sine
from medialake.operators.decode import decode_file
from medialake.pipelines.config import DecodeConfig

CFG = DecodeConfig(window_s=1.0, frames_per_segment=2, frame_px=32, thumbnail_px=64)


def record(path, media_type):
    return {"asset_id": "a1", "uri": str(path), "media_type": media_type, "size": path.stat().st_size, "mtime": None}


# name: (file name, ffmpeg arguments, encoders it needs, muxer, media type, seconds, has audio)
AV = {
    "ogg-theora-vorbis": ("v.ogv", [*pattern(2), *sine(2), "-c:v", "libtheora", "-q:v", "5", "-c:a", "libvorbis"],
                          ("libtheora", "libvorbis"), "ogg", "video", 2.0, True),
    "mkv-av1-libaom": ("v.mkv", [*pattern(1), "-c:v", "libaom-av1", "-cpu-used", "8", "-crf", "50"],
                       ("libaom-av1",), "matroska", "video", 1.0, False),
    "mp4-av1-svt": ("v.mp4", [*pattern(1, size="64x64"), "-c:v", "libsvtav1", "-preset", "12"],
                    ("libsvtav1",), "mp4", "video", 1.0, False),
    "webm-vp9-alpha": ("v.webm", [*pattern(1, pix_fmt="yuva420p"), "-c:v", "libvpx-vp9", "-deadline", "realtime",
                                  "-auto-alt-ref", "0"], ("libvpx-vp9",), "webm", "video", 1.0, False),
    "mp4-hevc-10bit": ("v.mp4", [*pattern(1), *sine(1), "-c:v", "libx265", "-pix_fmt", "yuv420p10le",
                                 "-x265-params", "log-level=error", "-tag:v", "hvc1", "-c:a", "aac"],
                       ("libx265", "aac"), "mp4", "video", 1.0, True),
    "avi-mjpeg-pcm_u8": ("v.avi", [*pattern(2), *sine(2, rate=8000), "-c:v", "mjpeg", "-c:a", "pcm_u8"],
                         ("mjpeg", "pcm_u8"), "avi", "video", 2.0, True),
    "asf-wmv-wma": ("v.wmv", [*pattern(2), *sine(2), "-c:v", "wmv2", "-c:a", "wmav2"],
                    ("wmv2", "wmav2"), "asf", "video", 2.0, True),
    "flv-sorenson-mp3": ("v.flv", [*pattern(2), *sine(2), "-c:v", "flv", "-c:a", "libmp3lame"],
                         ("flv", "libmp3lame"), "flv", "video", 2.0, True),
    "3gp-h263-amr": ("v.3gp", [*pattern(2, size="176x144"), *sine(2, rate=8000), "-c:v", "h263",
                               "-c:a", "libopencore_amrnb", "-ac", "1"],
                     ("h263", "libopencore_amrnb"), "3gp", "video", 2.0, True),
    "webm-opus": ("a.webm", [*sine(2, rate=48000), "-c:a", "libopus"], ("libopus",), "webm", "audio", 2.0, True),
    "m4a-alac": ("a.m4a", [*sine(2), "-c:a", "alac"], ("alac",), "ipod", "audio", 2.0, True),
    "wavpack": ("a.wv", [*sine(2), "-c:a", "wavpack"], ("wavpack",), "wv", "audio", 2.0, True),
    "aiff": ("a.aiff", [*sine(2), "-c:a", "pcm_s16be"], ("pcm_s16be",), "aiff", "audio", 2.0, True),
}


def _check_timeline(rows, media_type, seconds, has_audio):
    assert rows and all(r["segment_index"] >= 0 for r in rows), rows[-1].get("error")
    assert {r["modality"] for r in rows} == {media_type}
    assert rows[-1]["end_s"] == pytest.approx(seconds, abs=0.2)
    assert rows[-1]["duration_s"] == pytest.approx(seconds, abs=0.2)
    if media_type == "video":
        assert all(r["thumbnail"] for r in rows)
        assert all(r["frames"] for r in rows)
    if has_audio:
        assert all(r["audio"] for r in rows)


@pytest.mark.parametrize("name", sorted(AV))
def test_what_ffmpeg_decodes_the_decode_operator_ingests(tmp_path, name):
    fname, args, encoders, muxer, media_type, seconds, has_audio = AV[name]
    path = ffmpeg(tmp_path / fname, *args, encoders=encoders, muxer=muxer)
    assert ffmpeg_decodes(path)
    rows = decode_file(record(path, media_type), CFG)
    _check_timeline(rows, media_type, seconds, has_audio)


def test_interlaced_mpeg2_ts_whose_audio_pid_changes_keeps_all_its_sound(tmp_path):
    """A broadcast recording: interlaced MPEG-2 video, and the audio moves to another PID halfway."""
    common = ["-c:v", "mpeg2video", "-flags", "+ilme+ildct", "-top", "1", "-c:a", "mp2", "-f", "mpegts"]
    a = ffmpeg(tmp_path / "a.ts", *pattern(1, size="64x48", rate=25), *sine(1, freq=440), *common,
               "-streamid", "0:0x100", "-streamid", "1:0x101", encoders=("mpeg2video", "mp2"), muxer="mpegts")
    b = ffmpeg(tmp_path / "b.ts", *pattern(1, size="64x48", rate=25), *sine(1, freq=880), *common,
               "-streamid", "0:0x100", "-streamid", "1:0x102", "-output_ts_offset", "1")
    path = concat_bytes(tmp_path / "broadcast.ts", a, b)
    assert ffmpeg_decodes(path, strict=False)  # the splice breaks continuity counters, as in recordings
    rows = decode_file(record(path, "video"), CFG)
    _check_timeline(rows, "video", 2.0, True)
    import numpy as np

    from medialake import arrow

    tail = arrow.pcm(rows[-1]["audio"])
    seconds = rows[-1]["end_s"] - rows[-1]["start_s"]
    assert tail.size >= 0.9 * seconds * CFG.sample_rate  # the second PID's sound fills the last segment
    assert np.abs(tail).max() > 0.05


def test_phone_video_with_rotation_and_variable_frame_rate(tmp_path):
    """A phone clip: portrait (90 degree display matrix), 10 fps then 25 fps, AAC sound."""
    plain = ffmpeg(tmp_path / "p0.mp4", *pattern(3.5), "-frames:v", "35", "-c:v", "libx264",
                   "-vf", "settb=1/1000,setpts='if(lt(N,10),N*100,1000+(N-10)*40)'", "-fps_mode", "passthrough",
                   "-enc_time_base", "1/1000", "-video_track_timescale", "1000", encoders=("libx264", "aac"), muxer="mp4")
    path = ffmpeg(tmp_path / "phone.mp4", "-i", str(plain), *sine(2), "-c:v", "copy", "-c:a", "aac",
                  "-metadata:s:v:0", "rotate=90", "-t", "2")
    assert ffmpeg_decodes(path)
    rows = decode_file(record(path, "video"), CFG)
    _check_timeline(rows, "video", 2.0, True)
    thumb = Image.open(io.BytesIO(rows[0]["thumbnail"]))
    assert thumb.height > thumb.width  # shown upright: 64x48 stored, portrait on screen
    times = [t for r in rows for t in r["frame_times"]]
    assert times == sorted(times) and max(times) > 1.0  # frames from the 25 fps part too


def test_mkv_with_several_audio_languages_and_subtitles(tmp_path):
    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:01,500\nHello\n\n2\n00:00:01,500 --> 00:00:02,000\nBye\n")
    path = ffmpeg(tmp_path / "v.mkv", *pattern(2), *sine(2, freq=440), *sine(2, freq=880), "-i", str(srt),
                  "-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:s", "-c:v", "libx264", "-c:a", "libvorbis",
                  "-c:s", "srt", "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra",
                  encoders=("libx264", "libvorbis", "srt"), muxer="matroska")
    assert ffmpeg_decodes(path)
    rows = decode_file(record(path, "video"), CFG)
    _check_timeline(rows, "video", 2.0, True)


# -- stills and animations -----------------------------------------------------------------

def _heic(tmp_path):
    png = ffmpeg(tmp_path / "src.png", *pattern(1), "-frames:v", "1", encoders=("png",))
    if not shutil.which("heif-enc"):
        pytest.skip("heif-enc (Debian libheif-examples) is not installed to make a HEIC file")
    out = tmp_path / "p.heic"
    subprocess.run(["heif-enc", "-q", "60", str(png), "-o", str(out)], check=True, capture_output=True, timeout=60)
    return out


STILLS = {
    "avif": lambda d: ffmpeg(d / "p.avif", *pattern(1), "-frames:v", "1", "-c:v", "libaom-av1", "-still-picture", "1",
                             encoders=("libaom-av1",), muxer="avif"),
    "webp": lambda d: ffmpeg(d / "p.webp", *pattern(1), "-frames:v", "1", "-c:v", "libwebp", encoders=("libwebp",)),
    "tiff": lambda d: ffmpeg(d / "p.tiff", *pattern(1), "-frames:v", "1", "-c:v", "tiff", encoders=("tiff",)),
    "png-16bit": lambda d: ffmpeg(d / "p.png", *pattern(1), "-frames:v", "1", "-pix_fmt", "rgb48be", encoders=("png",)),
    "heic": _heic,
}


@pytest.mark.parametrize("name", sorted(STILLS))
def test_still_images_ffmpeg_makes_become_one_image_segment(tmp_path, name):
    path = STILLS[name](tmp_path)
    rows = decode_file(record(path, "image"), CFG)
    assert len(rows) == 1 and rows[0]["segment_index"] == 0 and rows[0]["modality"] == "image"
    assert (rows[0]["width"], rows[0]["height"]) == (64, 48)
    thumb = Image.open(io.BytesIO(rows[0]["thumbnail"]))
    assert thumb.size == (64, 48)
    # testsrc is colourful: a 16-bit or AV1 still must not come out flat grey
    assert len(set(thumb.convert("RGB").getdata())) > 20


def test_animated_webp_spreads_its_frames_over_the_animation(tmp_path):
    path = ffmpeg(tmp_path / "anim.webp", *pattern(2), "-c:v", "libwebp_anim", "-loop", "0",
                  encoders=("libwebp_anim",), muxer="webp")
    rows = decode_file(record(path, "image"), CFG)
    assert len(rows) == 1 and rows[0]["duration_s"] == pytest.approx(2.0, abs=0.2)
    assert len(rows[0]["frames"]) == 2
    assert rows[0]["frames"][0] != rows[0]["frames"][1]  # first and last frames differ


def test_need_names_what_is_missing():
    with pytest.raises(pytest.skip.Exception, match="no nosuch-encoder encoder"):
        need(("nosuch-encoder",))


# -- what ffmpeg cannot decode fails with a reason; chunking policies on these files ----------

def test_a_codec_ffmpeg_cannot_decode_fails_naming_the_stream_container_and_fix(tmp_path):
    from medialake.errors import DecodeError

    ok = ffmpeg(tmp_path / "m.avi", *pattern(1), *sine(1), "-c:v", "mjpeg", "-c:a", "pcm_u8",
                encoders=("mjpeg", "pcm_u8"), muxer="avi")
    path = tmp_path / "unknown.avi"
    path.write_bytes(ok.read_bytes().replace(b"MJPG", b"QQQQ"))  # a FourCC no FFmpeg knows
    assert not ffmpeg_decodes(path)
    with pytest.raises(DecodeError) as err:
        decode_file(record(path, "video"), CFG)
    msg = str(err.value)
    assert "unknown.avi" in msg and "video stream #0" in msg and "AVI" in msg and "ffmpeg -i" in msg


def test_shot_chunking_when_the_sound_outlasts_the_pictures(tmp_path):
    # Vorbis runs a few ms past the last Theora frame: the last shot ends, audio keeps coming
    path = ffmpeg(tmp_path / "v.ogv", *pattern(3), *sine(3.2), "-c:v", "libtheora", "-c:a", "libvorbis",
                  encoders=("libtheora", "libvorbis"), muxer="ogg")
    rows = decode_file(record(path, "video"), CFG.model_copy(update={"video_chunking": "shots", "min_shot_s": 0.5}))
    assert rows[0]["start_s"] == 0.0 and rows[-1]["end_s"] >= 2.9
    assert all(r["segment_index"] >= 0 for r in rows)
