"""Pipeline configuration: frozen pydantic models, validated before any work starts.

Load from YAML with :func:`load_config`; every field has a default, so an empty file is
the ``offline`` profile. A misspelt or wrong-typed field fails at once::

    >>> load_config(overrides={"decode": {"window_secs": 5}})
    Traceback (most recent call last):
    ConfigError: decode.window_secs: Extra inputs are not permitted ...
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Generic, Literal, TypeVar

from pydantic import Field, field_validator, model_validator

from medialake.errors import ConfigError
from medialake.models.asr import AsrOptions
from medialake.models.captioner import CaptionOptions
from medialake.models.embedding import EncoderOptions
from medialake.models.image_text import ImageEmbedOptions
from medialake.models.ocr import OcrOptions
from medialake.models.registry import BUILTIN, DEFAULT_MODELS
from medialake.models.summarizer import SummarizerOptions
from medialake.models.text import TextOptions
from medialake.operators.config import DecodeConfig
from medialake.settings import Frozen, merge, read_yaml_mapping, validate

__all__ = ["DecodeConfig", "IngestConfig", "PROFILES", "ROLES", "RetryConfig", "RoleConfig", "load_config"]


OptionsT = TypeVar("OptionsT", bound=Frozen)


class RoleConfig(Frozen, Generic[OptionsT]):
    """One model role: which model fills it, how its actor pool is sized, and the typed
    options of its model stage (``RoleConfig[AsrOptions]``: a misspelt option fails at load)."""

    model: str | None = Field(None, description="registry name, local directory or hub id; null skips the role")
    batch_size: int = Field(8, ge=1)
    concurrency: int | Literal["auto"] = Field(
        1, description='actors in the pool; "auto": from 1 up to as many as the cluster\'s resources hold')
    threads: int = Field(
        1, ge=1, description="batches each actor runs at once, each in a thread of its own (Ray Data's "
                             "max_concurrent_calls_per_actor): models that release the GIL (CTranslate2, onnxruntime) "
                             "then do a second actor's work without a second process")
    num_cpus: float = Field(0.5, gt=0, description="CPUs reserved per actor (fractions avoid deadlocks on small machines)")
    num_gpus: float = Field(0.0, ge=0, description="GPUs per actor; fractions share a GPU")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    resources: dict[str, float] = Field(
        default_factory=dict, description='custom Ray resources per actor, e.g. {"models": 0.01}: the pool runs '
                                          'only on nodes started with that resource (ray start --resources)')
    options: OptionsT = Field(default_factory=dict, validate_default=True, description="the model stage's options")

    @field_validator("model")
    @classmethod
    def _model_dir_exists(cls, v: str | None) -> str | None:
        """A model given as a path (``/x``, ``./x``, ``~/x``, ``a/b/c``) must exist: a typo
        fails at load, not in an actor an hour later."""
        if v and v not in BUILTIN and (v.startswith(("/", "./", "../", "~")) or v.count("/") > 1):
            if not Path(v).expanduser().exists():
                raise ValueError(f"model directory {v!r} does not exist; pass an existing directory, "
                                 f"a built-in name ({', '.join(BUILTIN)}), a hub id like org/name, or null")
        return v


class RetryConfig(Frozen):
    """What happens when a model fails on an input.

    A Python exception on a batch is retried row by row in the actor; a model process
    that dies is restarted by Ray (``max_restarts``) and its batch retried
    (``max_task_retries``). A row that has failed ``attempts`` times, either way, becomes
    a failed asset row with the reason, and the run goes on.
    """

    attempts: int = Field(3, ge=1, description="tries per input before its file is recorded as failed")
    max_restarts: int = Field(-1, ge=-1, description="Ray actor restarts (-1: unlimited)")
    max_task_retries: int = Field(-1, ge=-1, description="Ray retries of a batch whose actor died (-1: unlimited)")


class IngestConfig(Frozen):
    """Everything an ingestion run needs besides the source and the database."""

    profile: str = "offline"
    decode: DecodeConfig = DecodeConfig()
    # Whisper base multilingual, VAD, greedy, word times: chosen on real speech
    # (benchmarks/asr_bench.py, README "Speech recognition"); `--profile fast`: tiny.en.
    # One actor running two batches at once (two CTranslate2 workers of one thread each):
    # both cores busy, one process (README "Tuning").
    asr: RoleConfig[AsrOptions] = RoleConfig[AsrOptions](
        model=DEFAULT_MODELS["asr"], batch_size=2, concurrency=1, threads=2, num_cpus=0.5,
        options=AsrOptions(compute_type="int8", cpu_threads=1, vad_filter=True))
    # text batches of 4, not 32: Ray Data holds rows back until a batch is full, and on a run
    # of tens of segments 32 held the first commit back to ~80% of the run (ingest_bench)
    # onnxruntime on CPU (options.backend auto): the OCR+text actor imports no torch (README "Tuning")
    text: RoleConfig[TextOptions] = RoleConfig[TextOptions](model=DEFAULT_MODELS["text"], batch_size=4, num_cpus=0.25)
    image_text: RoleConfig[ImageEmbedOptions] = Field(
        RoleConfig[ImageEmbedOptions](batch_size=16, num_cpus=0.25), description="CLIP/SigLIP: image_vector, frames")
    audio: RoleConfig[EncoderOptions] = Field(
        RoleConfig[EncoderOptions](batch_size=8, num_cpus=0.25), description="CLAP: audio_vector")
    ocr: RoleConfig[OcrOptions] = Field(
        RoleConfig[OcrOptions](model=DEFAULT_MODELS["ocr"], batch_size=4, num_cpus=0.25, options=OcrOptions(min_confidence=0.6)),
        description="text in pictures: ocr_text")
    captioner: RoleConfig[CaptionOptions] = Field(
        RoleConfig[CaptionOptions](batch_size=4, num_cpus=0.25), description="VLM or assembly: caption")
    summarizer: RoleConfig[SummarizerOptions] = Field(
        RoleConfig[SummarizerOptions](model=DEFAULT_MODELS["summarizer"], options=SummarizerOptions(max_sentences=3)),
        description="one summary per asset, after the run (extractive or a causal LM)")
    retries: RetryConfig = RetryConfig()
    fuse_stages: Literal["cpu", "light", "none"] = Field(
        "cpu", description="which consecutive model roles share one actor pool, one process holding their models: "
                           "cpu: every role without a GPU share that asks for the same custom resources (on a CPU "
                           "machine, all of them); light: only light roles (ocr, text) with the same pool; none: "
                           "one pool per role")
    commit_every: int = Field(256, ge=1, description="segments written (as fragments) before the sink commits them")
    commit_every_s: float = Field(2.0, ge=0, description="seconds between commits while segments or done assets wait")
    on_error: Literal["record", "raise"] = Field(
        "record", description="record: a broken file becomes a failed asset row; raise: stop the run"
    )
    extensions: dict[str, list[str]] = Field(
        default_factory=lambda: {
            "video": [".mp4", ".mov", ".mkv", ".webm", ".avi", ".mpeg", ".mpg", ".ogv", ".m4v", ".ts", ".m2ts",
                      ".mts", ".vob", ".wmv", ".asf", ".flv", ".3gp", ".3g2", ".mxf"],
            "audio": [".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".wma", ".wv", ".aiff",
                      ".aif", ".aifc", ".mka", ".weba", ".amr", ".ape", ".ac3"],
            "image": [".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff", ".heic", ".heif", ".avif"],
        }
    )

    @model_validator(mode="before")
    @classmethod
    def _old_fuse_switch(cls, data: Any) -> Any:
        """``fuse_light_stages`` (before ``fuse_stages``; it wins when given): true is ``light``, false ``none``."""
        if isinstance(data, dict) and "fuse_light_stages" in data:
            data = dict(data)
            old = data.pop("fuse_light_stages")
            if not isinstance(old, bool):
                raise ValueError(f"fuse_light_stages must be true or false, not {old!r}; or use fuse_stages")
            data["fuse_stages"] = "light" if old else "none"
        return data

    def config_hash(self) -> str:
        """A short stable hash of everything that changes what lands in the tables."""
        # which files a scan picks up (extensions) does not change what one file becomes
        payload = self.model_dump(exclude={"on_error", "retries", "commit_every", "commit_every_s", "extensions",
                                           "fuse_stages"})
        for role in ROLES:
            payload[role] = {k: payload[role][k] for k in ("model", "options")}
        for k in ("backend", "threads"):  # the runtime, not the vectors (onnx and torch agree to cos 0.999)
            payload["text"]["options"].pop(k, None)
        payload["decode"].pop("num_cpus")
        for k in ("timeout_s", "rows_per_block", "concurrency", "resources"):  # limits and placement, not content
            payload["decode"].pop(k, None)
        blob = json.dumps(payload, sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


#: The model roles, in the order their stages run (the summarizer runs after the sink).
ROLES = ("asr", "ocr", "captioner", "text", "image_text", "audio", "summarizer")

PROFILES: dict[str, dict[str, Any]] = {
    # Everything from PyPI packages, nothing from the network: Whisper base multilingual
    # (with Silero VAD), MiniLM, rapidocr, extractive summaries. Image/audio encoders and
    # captions off.
    "offline": {},
    # The same as offline (base is multilingual); kept so older commands still run.
    "multilingual": {"asr": {"model": "whisper-base"}},
    # English speech only, about half the CPU: Whisper tiny.en, and no OCR.
    "fast": {"asr": {"model": "whisper-tiny.en"}, "ocr": {"model": None}},
    # Models named by hub id (pre-download them, or override with local directories),
    # bf16 on GPU; fractional GPUs so every pool fits on one device.
    "gpu": {
        "asr": {"model": "openai/whisper-large-v3", "batch_size": 8, "num_gpus": 0.25,
                "options": {"backend": "transformers"}},
        "text": {"batch_size": 128, "num_gpus": 0.1},
        "image_text": {"model": "google/siglip-base-patch16-224", "batch_size": 64, "num_gpus": 0.15},
        "audio": {"model": "laion/clap-htsat-unfused", "batch_size": 32, "num_gpus": 0.15},
        "captioner": {"model": "HuggingFaceTB/SmolVLM-256M-Instruct", "batch_size": 16, "num_gpus": 0.25},
        "summarizer": {"model": "HuggingFaceTB/SmolLM2-360M-Instruct", "options": {"max_new_tokens": 80}},
    },
}


def load_config(
    path: str | Path | None = None,
    profile: str | None = None,
    overrides: dict[str, Any] | None = None,
) -> IngestConfig:
    """Build an :class:`IngestConfig` from a profile, an optional YAML file and overrides.

    Later sources win: profile defaults, then the file, then ``overrides``.
    """
    data: dict[str, Any] = {}
    origin = "defaults"
    if path is not None:
        data = read_yaml_mapping(path, "config file")
        origin = str(path)
    data = merge(data, overrides or {})
    name = profile or data.get("profile") or "offline"
    if name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}; choose one of {sorted(PROFILES)}")
    # Partial sections merge onto the defaults: `asr: {concurrency: 3}` keeps the asr model.
    data = merge(merge(IngestConfig().model_dump(), PROFILES[name]), data)
    data["profile"] = name
    return validate(IngestConfig, data, f"medialake config ({origin})",
                    "Fix the field(s) above; `medialake ingest --help` and README.md list the options.")
