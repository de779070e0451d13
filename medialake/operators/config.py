"""How media are cut into segments: :class:`DecodeConfig`, the ``decode`` section of an
ingest config. It lives beside the operators it configures (decode, timeline, image,
video, VAD), so they never import ``pipelines/``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from medialake.settings import Frozen


class DecodeConfig(Frozen):
    """How media are cut into segments."""

    window_s: float = Field(10.0, gt=0, description="length of a video/audio window, seconds")
    overlap_s: float = Field(0.0, ge=0, description="overlap between consecutive windows, seconds")
    thumbnail_px: int = Field(256, ge=16, le=2048, description="longest side of thumbnails, pixels")
    thumbnail_quality: int = Field(80, ge=10, le=95)
    sample_rate: int = Field(16000, description="audio is resampled to this rate, mono")
    max_image_pixels: int = Field(100_000_000, gt=0, description="decompression-bomb guard")
    num_cpus: float = Field(0.5, gt=0, description="CPUs reserved per decode task")
    resources: dict[str, float] = Field(
        default_factory=dict, description='custom Ray resources per decode task, e.g. {"decode": 0.01}: decode runs '
                                          'only on nodes started with that resource (ray start --resources)')
    # -- chunking policies ------------------------------------------------------------
    video_chunking: Literal["fixed", "shots"] = Field(
        "fixed", description="fixed: windows of window_s with overlap_s; shots: scene cuts (shot_* fields)")
    audio_chunking: Literal["fixed", "vad"] = Field(
        "fixed", description="fixed: windows of window_s; vad: speech segments from the Silero VAD (vad_* fields)")
    shot_threshold: float = Field(0.12, gt=0, lt=1, description="mean grey difference (0-1) between sampled frames that counts as a cut")
    shot_fps: float = Field(4.0, gt=0, le=30, description="frames per second compared when looking for cuts")
    min_shot_s: float = Field(1.0, ge=0, description="shorter shots are merged into the previous one")
    max_shot_s: float = Field(30.0, gt=0, description="longer shots are split evenly")
    vad_threshold: float = Field(0.5, gt=0, lt=1, description="Silero speech probability that starts speech")
    vad_merge_gap_s: float = Field(0.5, ge=0, description="silences shorter than this stay inside one segment")
    vad_max_segment_s: float = Field(30.0, gt=0, description="speech segments are cut at this length")
    vad_min_speech_s: float = Field(0.25, ge=0, description="speech shorter than this is dropped")
    vad_pad_s: float = Field(0.2, ge=0, description="padding added on both sides of a speech segment")
    # -- frames handed to the models -----------------------------------------------------
    frames_per_segment: int = Field(4, ge=0, le=64, description="frames kept per video segment (and per animated image)")
    frame_tolerance_s: float = Field(
        0.2, ge=0, le=2.0,
        description="a sampled frame may be up to this much earlier than wanted when that lets the decoder skip "
                    "every B-frame (checked per file on its first seconds; 0: always the exact frame)")
    frame_px: int = Field(224, ge=16, le=2048, description="shorter side of the frames handed to the models, pixels")
    frame_quality: int = Field(90, ge=10, le=100, description="JPEG quality of those frames")
    ocr_px: int = Field(960, ge=0, le=4096,
                        description="longer side of the frames the ocr role reads (the same times as the model "
                                    "frames, larger so small text survives; never enlarged); 0: OCR reads the thumbnail")
    # -- limits -----------------------------------------------------------------------
    timeout_s: float = Field(600.0, gt=0, description="per-file decode time limit; a file over it fails with a reason")
    rows_per_block: int = Field(32, ge=1, description="segment rows per Arrow block emitted by the decoder")
    concurrency: int | None = Field(
        None, ge=1, description="most decode tasks at once (each holds about one segment of its file); null: one "
                    "per two CPUs of the nodes that can decode, or, when decode runs in the first model pool's "
                    "actors (the same num_cpus and resources), that pool's actors")

    @model_validator(mode="after")
    def _overlap_below_window(self) -> "DecodeConfig":
        if self.overlap_s >= self.window_s:
            raise ValueError(
                f"overlap_s ({self.overlap_s}) must be smaller than window_s ({self.window_s})"
            )
        return self

    @model_validator(mode="after")
    def _shot_bounds(self) -> "DecodeConfig":
        if self.min_shot_s >= self.max_shot_s:
            raise ValueError(f"min_shot_s ({self.min_shot_s}) must be smaller than max_shot_s ({self.max_shot_s})")
        if self.audio_chunking == "vad" and self.sample_rate != 16000:
            raise ValueError("audio_chunking 'vad' needs sample_rate 16000 (the Silero VAD runs at 16 kHz)")
        return self
