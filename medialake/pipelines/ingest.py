"""build(config) -> the Ray Data plan of an ingestion run, and the runner that drives it.

The plan, top to bottom::

    file records ──decode+chunk (tasks)──> Transcriber (actors) ──> TextEmbedder (actors) ──> sink (driver)

Each model stage is a callable class from ``medialake.models``; ``stage_args`` turns its
role config into ``map_batches`` arguments. The sink consumes the stream as it comes, so
memory stays bounded by the blocks in flight, not by the archive.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import pyarrow as pa

from medialake.models.asr import Transcriber
from medialake.models.text import TextEmbedder
from medialake.operators.decode import decode_stream
from medialake.pipelines.config import IngestConfig, RoleConfig


@dataclass(frozen=True)
class Step:
    """One model stage: the callable class and the role config that sizes its pool."""

    name: str
    cls: type
    role: RoleConfig


def steps(cfg: IngestConfig) -> list[Step]:
    """The model stages that the config switches on, in pipeline order."""
    out = []
    if cfg.asr.model:
        out.append(Step("asr", Transcriber, cfg.asr))
    if cfg.text.model:
        out.append(Step("text", TextEmbedder, cfg.text))
    return out


def stage_args(step: Step) -> dict:
    """``map_batches`` keyword arguments for a model stage (the one resource adapter)."""
    role = step.role
    return dict(
        fn_constructor_kwargs={"model": role.model, "device": role.device, "batch_size": role.batch_size, **role.options},
        batch_size=role.batch_size,
        batch_format="pyarrow",
        compute=__import__("ray").data.ActorPoolStrategy(size=role.concurrency),
        num_cpus=role.num_cpus,
        num_gpus=role.num_gpus or None,
    )


def records_table(records: list) -> pa.Table:
    return pa.Table.from_pylist(
        [{"asset_id": r.asset_id, "uri": r.uri, "media_type": r.media_type, "size": r.size, "mtime": r.mtime} for r in records],
        schema=pa.schema([("asset_id", pa.string()), ("uri", pa.string()), ("media_type", pa.string()),
                          ("size", pa.int64()), ("mtime", pa.timestamp("us", tz="UTC"))]),
    )


def build(records: list, cfg: IngestConfig):
    """The Ray Data dataset whose batches are finished segment rows, ready for the sink."""
    import ray

    table = records_table(records)
    # One block per file, so decode tasks run in parallel (a repartition would need a full CPU).
    ds = ray.data.from_arrow([table.slice(i, 1) for i in range(table.num_rows)])
    ds = ds.map_batches(
        partial(decode_stream, cfg=cfg.decode, raise_errors=cfg.on_error == "raise"),
        batch_size=1, batch_format="pyarrow", num_cpus=cfg.decode.num_cpus,
        compute=ray.data.TaskPoolStrategy(size=cfg.decode.concurrency) if cfg.decode.concurrency else None,
    )
    from medialake.pipelines.retry import apply_step

    for step in steps(cfg):
        ds = apply_step(ds, step, cfg)  # map_batches(step.cls, **stage_args(step)) + retries
    return ds


