"""build(config) -> the Ray Data plan of an ingestion run, and the runner that drives it.

The plan, top to bottom::

    file records ──decode+chunk (tasks)──> Transcriber ──> TextReader (OCR) ──> ImageCaptioner
        ──> TextEmbedder ──> ImageEmbedder ──> AudioEmbedder (actor pools) ──> sink (driver)
        ──> summaries (driver, per asset, after the sink; see ``medialake.pipelines.summaries``)

A role whose model is null is skipped and its columns stay null. Each model stage is a
callable class from ``medialake.models``; ``stage_args`` turns its role config into
``map_batches`` arguments (actor pool size, batch size, fractional CPUs, GPUs where the
cluster has them). The sink consumes the stream as it comes, so
memory stays bounded by the blocks in flight, not by the archive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import pyarrow as pa

from medialake.errors import ConfigError
from medialake.models.asr import Transcriber
from medialake.models.audio import AudioEmbedder
from medialake.models.captioner import ImageCaptioner
from medialake.models.image_text import ImageEmbedder
from medialake.models.ocr import TextReader
from medialake.models.text import TextEmbedder
from medialake.operators.decode import decode_stream
from medialake.pipelines.config import IngestConfig, RoleConfig


@dataclass(frozen=True)
class Step:
    """One model stage: the callable class, the role config that sizes its pool, and
    constructor arguments that come from elsewhere in the config (e.g. the sample rate)."""

    name: str
    cls: type
    role: RoleConfig
    extra: dict = field(default_factory=dict)


#: Stage classes per role, in pipeline order: text producers first (ASR, OCR, captions),
#: then the text encoder that embeds their combined text, then the other encoders.
STAGES: dict[str, type] = {
    "asr": Transcriber,
    "ocr": TextReader,
    "captioner": ImageCaptioner,
    "text": TextEmbedder,
    "image_text": ImageEmbedder,
    "audio": AudioEmbedder,
}

#: Share of one GPU each pool gets when a GPU is present and the role says ``num_gpus: 0``
#: with ``device: auto`` (sums below 1, so every pool fits on one device). OCR stays on CPU.
AUTO_GPU_SHARE = {"asr": 0.25, "captioner": 0.25, "text": 0.1, "image_text": 0.15, "audio": 0.15}


#: Decode's payload columns, which the sink does not store, and the roles that read them.
#: After the last stage that reads one, it is nulled, so it stops travelling through the
#: object store; one that no stage of the plan reads is not made at all.
PAYLOADS: dict[str, tuple[str, ...]] = {
    "audio": ("asr", "audio"),
    "frames": ("image_text", "captioner"),
    "frame_times": ("image_text", "captioner"),
}


def payload_drops(plan: list[Step]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """(columns decode leaves null, columns each step nulls on its way out) for ``plan``."""
    last: dict[str, int] = {}
    for i, step in enumerate(plan):
        for col, readers in PAYLOADS.items():
            if step.name in readers:
                last[col] = i
    at_decode = tuple(c for c in PAYLOADS if c not in last)
    return at_decode, [tuple(c for c, j in last.items() if j == i) for i in range(len(plan))]


def steps(cfg: IngestConfig) -> list[Step]:
    """The model stages that the config switches on, in pipeline order."""
    out = []
    for name, cls in STAGES.items():
        role: RoleConfig = getattr(cfg, name)
        if role.model:
            extra = {"sample_rate": cfg.decode.sample_rate} if name == "audio" else {}
            out.append(Step(name, cls, role, extra))
    return out


def cluster_gpus() -> float:
    """GPUs in the running Ray cluster (0 when Ray is not started)."""
    import ray

    return float(ray.cluster_resources().get("GPU", 0)) if ray.is_initialized() else 0.0


def gpus_for(step: Step, available: float) -> float:
    """GPUs per actor for ``step``: the role's ``num_gpus``, an automatic share when the
    cluster has a GPU and the role leaves it to ``auto``, and 0 on a CPU-only cluster."""
    role = step.role
    if role.device == "cpu":
        return 0.0
    if available <= 0:
        if role.device == "cuda":
            raise ConfigError(f"{step.name}.device is cuda but the Ray cluster has no GPU; set {step.name}.device: auto")
        return 0.0
    return float(role.num_gpus or AUTO_GPU_SHARE.get(step.name, 0.0))


def stage_args(step: Step, available_gpus: float | None = None) -> dict:
    """``map_batches`` keyword arguments for a model stage (the one resource adapter).

    The actor's device follows its GPU share: an actor without one runs on CPU in fp32,
    one with a share picks CUDA and bf16/fp16 itself.
    """
    import ray

    role = step.role
    gpus = gpus_for(step, cluster_gpus() if available_gpus is None else available_gpus)
    device = role.device if gpus > 0 or role.device == "cpu" else "cpu"
    kwargs = {**role.options, **step.extra, "model": role.model, "device": device, "batch_size": role.batch_size}
    return dict(
        fn_constructor_kwargs=kwargs,
        batch_size=role.batch_size,
        batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=role.concurrency),
        num_cpus=role.num_cpus,
        num_gpus=gpus or None,
    )


def records_table(records: list) -> pa.Table:
    return pa.Table.from_pylist(
        [{"asset_id": r.asset_id, "uri": r.uri, "media_type": r.media_type, "size": r.size, "mtime": r.mtime} for r in records],
        schema=pa.schema([("asset_id", pa.string()), ("uri", pa.string()), ("media_type", pa.string()),
                          ("size", pa.int64()), ("mtime", pa.timestamp("us", tz="UTC"))]),
    )


def build(records: list, cfg: IngestConfig, keep: tuple[str, ...] = ()):
    """The Ray Data dataset whose batches are finished segment rows, ready for the sink.
    ``keep``: payload columns (:data:`PAYLOADS`) to carry to the end even if no stage reads them."""
    import ray

    table = records_table(records)
    plan = steps(cfg)
    at_decode, after_step = payload_drops(plan)
    at_decode = tuple(c for c in at_decode if c not in keep)
    after_step = [tuple(c for c in d if c not in keep) for d in after_step]
    decode_cfg = cfg.decode
    if "frames" in at_decode:  # no image role: sample no frames (the thumbnail is still made)
        decode_cfg = decode_cfg.model_copy(update={"frames_per_segment": 0})
    # One block per file, so decode tasks run in parallel (a repartition would need a full CPU).
    ds = ray.data.from_arrow([table.slice(i, 1) for i in range(table.num_rows)])
    ds = ds.map_batches(
        partial(decode_stream, cfg=decode_cfg, raise_errors=cfg.on_error == "raise", drop=at_decode),
        batch_size=1, batch_format="pyarrow", num_cpus=cfg.decode.num_cpus,
        compute=ray.data.TaskPoolStrategy(size=cfg.decode.concurrency) if cfg.decode.concurrency else None,
    )
    from medialake.pipelines.retry import apply_step

    for step, drop in zip(plan, after_step):
        ds = apply_step(ds, step, cfg, drop=drop)  # map_batches(step.cls, **stage_args(step)) + retries
    return ds



def vector_dims(cfg: IngestConfig) -> dict[str, int]:
    """Widths of the model-dependent vector columns the config fills, e.g. ``{"image_vector": 512}``.

    Read from each model's config without loading weights; a model whose config does not
    say is loaded once here to ask it.
    """
    from medialake import schema
    from medialake.models.registry import embedding_dim, resolve

    dims = {}
    for column, role_name in schema.MODEL_VECTOR_COLUMNS.items():
        role: RoleConfig = getattr(cfg, role_name)
        if not role.model:
            continue
        dim = embedding_dim(role.model)
        if dim is None:
            try:
                from transformers import AutoConfig

                c = AutoConfig.from_pretrained(resolve(role.model)).to_dict()
                dim = c.get("projection_dim") or (c.get("text_config") or {}).get("hidden_size")
            except (OSError, ValueError):
                dim = None
        if dim is None:
            encoder = STAGES[role_name](model=role.model, device="cpu")
            dim = encoder.encoder.dim
        dims[column] = int(dim)
    return dims
