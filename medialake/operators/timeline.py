"""Segments of time-based media (video, audio), produced as the file streams by.

:func:`iter_timeline` opens a file once for the audio (decoded in blocks, only the samples
a segment still needs are kept) and once for the pictures (sampled sparsely by seeking),
and yields one row per segment as soon as it is complete. Segment bounds come from the
chunking policy: fixed windows, shots (video) or speech (audio, Silero VAD).
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from medialake.errors import DecodeError
from medialake.operators.audio import PcmBuffer, iter_pcm
from medialake.operators.chunk import SpanPlanner, WindowPlanner, sample_times
from medialake.operators.image import jpeg_thumbnail
from medialake.operators.metadata_av import container_metadata
from medialake.operators.phash import phash
from medialake.operators.probe import Probe, open_container, probe, require_decoder, video_streams
from medialake.operators.shots import detect_shots
from medialake.operators.sources import Deadline
from medialake.operators.vad import StreamingVad
from medialake.operators.video import FrameSampler, frame_jpeg, ocr_jpeg, video_duration


ESTIMATED_DURATION = ("mpeg", "mpegts", "mpegvideo", "h264", "hevc", "m4v")


class TimelineReport:
    """What :func:`iter_timeline` learned about the file; read it after the rows are consumed."""

    def __init__(self) -> None:
        self.probe: Probe | None = None
        self.modality: str | None = None
        self.duration_s: float | None = None
        self.frames_decoded = 0
        self.frames_sampled = 0
        self.max_buffered_s = 0.0  # most audio held at once: bounded by the segment length
        self.metadata = None  # medialake.operators.metadata.Metadata: the container's tags


def _visuals(sampler: FrameSampler, start: float, end: float, cfg,
             info: TimelineReport) -> tuple[bytes | None, list[bytes], list[float], int | None, list[bytes]]:
    """(thumbnail, model frames, their times, the keyframe's perceptual hash, OCR frames)."""
    times = sample_times(start, end, cfg.frames_per_segment)
    thumb_t = round(start + min(1.0, (end - start) / 2), 4)
    short = max(cfg.frame_px, cfg.thumbnail_px, _ocr_short_side(sampler, cfg) if times else 0)
    got = sampler.images(sorted(set(times + [thumb_t])), short_side=short)
    info.frames_sampled += len(got)
    info.frames_decoded = sampler.decoded
    by_t = dict(zip(sorted(set(times + [thumb_t])), got))
    thumb = jpeg_thumbnail(by_t[thumb_t][1], cfg.thumbnail_px, cfg.thumbnail_quality) if thumb_t in by_t else None
    key_hash = phash(by_t[thumb_t][1]) if thumb_t in by_t else None  # the keyframe's perceptual hash
    frames, ftimes, ocr = [], [], []
    for t in times:
        if t not in by_t:
            continue
        ft, img = by_t[t]
        frames.append(frame_jpeg(img, cfg.frame_px, cfg.frame_quality))
        ftimes.append(float(ft))
        if cfg.ocr_px:
            ocr.append(ocr_jpeg(img, cfg.ocr_px))
    return thumb, frames, ftimes, key_hash, ocr


def _ocr_short_side(sampler: FrameSampler, cfg) -> int:
    """The shorter side that gives the video's frames a longer side of ``cfg.ocr_px``."""
    w, h = sampler.stream.codec_context.width or 0, sampler.stream.codec_context.height or 0
    if not cfg.ocr_px or not w or not h:
        return 0
    return int(round(cfg.ocr_px * min(w, h) / max(w, h)))


def iter_timeline(uri: str, media_type: str, cfg, deadline: Deadline, info: TimelineReport) -> Iterator[dict]:
    """Yield ``{modality, start_s, end_s, thumbnail, audio, frames, frame_times}`` per segment."""
    with contextlib.ExitStack() as stack:
        c = stack.enter_context(open_container(uri, timeout=cfg.timeout_s))
        sampler, duration = _open_streams(c, uri, media_type, cfg, deadline, info)
        modality = info.modality
        planner, vad = _chunking(uri, modality, sampler, duration, cfg)
        buf = PcmBuffer(cfg.sample_rate) if info.probe.has_audio else None

        def row(start: float, end: float) -> dict:
            deadline.check()
            thumb, frames, ftimes, key_hash, ocr = (_visuals(sampler, start, end, cfg, info) if sampler
                                                    else (None, [], [], None, []))
            audio = buf.take(start, end).tobytes() if buf is not None else None
            return {"modality": modality, "start_s": float(start), "end_s": float(end), "thumbnail": thumb,
                    "audio": audio, "frames": frames or None, "frame_times": ftimes or None, "phash": key_hash,
                    "ocr_frames": ocr or None}

        if buf is not None:
            ac = stack.enter_context(open_container(uri, timeout=cfg.timeout_s)) if sampler else c
            for s, e in _heard_spans(ac, buf, planner, vad, cfg, deadline, info):
                yield row(s, e)
        final = info.duration_s = _final_duration(uri, modality, duration, buf)
        for s, e in (vad.finish() if vad is not None else planner.finish(final)):
            yield row(s, e)
        if sampler is not None and sampler.decoded == 0:
            raise DecodeError(f"{uri}: not one video frame could be decoded (header without data, or a damaged stream)")


def _open_streams(c, uri: str, media_type: str, cfg, deadline: Deadline,
                  info: TimelineReport) -> tuple[FrameSampler | None, float | None]:
    """Probe the open container ``c``, decide the modality (both recorded in ``info``) and,
    for video, start the frame sampler. Returns (sampler or None, duration in seconds or None)."""
    p = info.probe = probe(c)
    info.metadata = container_metadata(c)
    vids = video_streams(c)
    require_decoder(uri, c, c.streams.audio[0] if p.has_audio else None)
    if media_type == "audio" and not p.has_audio:
        raise DecodeError(f"{uri}: no audio stream (streams: {p.codecs or 'none'}); is it an audio file?")
    if not vids and not p.has_audio:
        raise DecodeError(f"{uri}: no video or audio stream (streams: {p.codecs or 'none'})")
    info.modality = "video" if vids and media_type != "audio" else "audio"
    if info.modality != "video":
        return None, p.duration_s
    require_decoder(uri, c, vids[0])
    sampler = FrameSampler(c, vids[0], deadline, tolerance_s=cfg.frame_tolerance_s)
    duration = p.duration_s
    # MPEG program/transport streams and raw elementary streams only estimate their
    # duration from the bit rate: read the packet timestamps instead (demux, no decode).
    if duration is None or c.format.name.split(",")[0] in ESTIMATED_DURATION:
        duration = video_duration(c, vids[0], deadline) or duration
    return sampler, duration


def _chunking(uri: str, modality: str, sampler: FrameSampler | None, duration: float | None,
              cfg) -> tuple[SpanPlanner | WindowPlanner | None, StreamingVad | None]:
    """The chunking policy's segment bounds: (planner, None), or (None, a VAD) for speech."""
    if modality == "video" and cfg.video_chunking == "shots":
        if not duration:
            raise DecodeError(f"{uri}: unknown duration, cannot look for shots")
        spans = detect_shots(sampler, duration, analysis_fps=cfg.shot_fps, threshold=cfg.shot_threshold,
                             min_s=cfg.min_shot_s, max_s=cfg.max_shot_s)
        return SpanPlanner(spans), None
    if modality == "audio" and cfg.audio_chunking == "vad":
        return None, StreamingVad(cfg.sample_rate, cfg.vad_threshold, cfg.vad_merge_gap_s, cfg.vad_max_segment_s,
                                  cfg.vad_min_speech_s, cfg.vad_pad_s)
    return WindowPlanner(cfg.window_s, cfg.overlap_s), None


def _heard_spans(ac, buf: PcmBuffer, planner, vad: StreamingVad | None, cfg, deadline: Deadline,
                 info: TimelineReport) -> Iterator[tuple[float, float]]:
    """Decode the audio of ``ac`` into ``buf`` block by block and yield each segment's
    (start, end) as soon as the audio heard so far completes it. The caller takes the
    segment's samples before the next block; the samples no segment needs are dropped."""
    for chunk in iter_pcm(ac, cfg.sample_rate, deadline=deadline):
        buf.append(chunk)
        info.max_buffered_s = max(info.max_buffered_s, buf.kept / cfg.sample_rate)
        if vad is not None:
            yield from vad.feed(chunk)
            keep = vad.open_start if vad.open_start is not None else vad.processed_s
            buf.drop_before(keep - cfg.vad_pad_s)
        else:
            yield from planner.ready(buf.end_s)
            buf.drop_before(planner.next_start)


def _final_duration(uri: str, modality: str, duration: float | None, buf: PcmBuffer | None) -> float:
    """The file's duration once its audio is heard."""
    # The container's duration already spans its longest stream (audio longer than video);
    # decoded audio decides when there is none, or for sound files (headers can lie).
    heard = buf.end_s if buf is not None else 0.0
    final = max(duration or 0.0, heard) if (modality == "audio" or not duration) else duration
    if final <= 0:
        raise DecodeError(f"{uri}: zero duration: the {modality} stream holds no frames or samples")
    return final
