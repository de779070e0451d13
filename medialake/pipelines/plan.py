"""build(records, config) -> the Ray Data plan of an ingestion run.

The plan, top to bottom::

    file records ──decode (tasks: decode+chunk)──> asr ──> ocr ──> captioner ──> text
        ──> image_text ──> audio (actor pools, one per role with a model; consecutive
            roles without a GPU share one pool, e.g. all of them on a CPU machine)
        ──> fragment write (in the last stage's process) ──> commits (driver)
        ──> summaries (driver, per asset, after the sink; see ``medialake.pipelines.summaries``)

A role whose model is null is skipped and its columns stay null. Each model stage is a
class from ``medialake.models`` that declares the columns it reads and writes, its typed
options and its GPU share; ``medialake.pipelines.adapter`` turns each declaration and its
role config into one ``map_batches`` call, and nulls each payload (PCM, frames) after the
last stage that reads it. The sink consumes the stream as it comes, so memory stays
bounded by the blocks in flight, not by the archive.
"""

from __future__ import annotations

from functools import partial
from typing import Iterator

import pyarrow as pa

from medialake import schema
from medialake.operators.config import DecodeConfig
from medialake.operators.decode import decode_stream, failed_row, to_stream_table
from medialake.pipelines.adapter import (STAGES, apply_step, cluster_gpus, cluster_nodes, decode_fuses,
                                         decode_tasks, fuse, new_ledger, payload_drops, pool_args, steps)
from medialake.pipelines.config import IngestConfig, RoleConfig

__all__ = ["build", "decode", "records_table", "vector_dims"]


def records_table(records: list) -> pa.Table:
    """The file records (scan or diff output) as the Arrow table the plan starts from."""
    return pa.Table.from_pylist([{name: getattr(r, name) for name in schema.RECORD.names} for r in records],
                                schema=schema.RECORD)


def decode(batch: pa.Table, cfg: DecodeConfig, raise_errors: bool = False,
           drop: tuple[str, ...] = (), writer=None, ledger=None, attempts: int = 3) -> Iterator[pa.Table]:
    """The decode task (named so in Ray's logs): :func:`medialake.operators.decode.decode_stream`;
    with ``writer`` (no model stage follows), each block is written there and its receipt yielded.

    ``ledger`` (the run's :class:`~medialake.pipelines.retry.AttemptLedger`) counts the tries of
    each file that did not come back: a file whose decoding kills the worker process (a native
    crash in a codec, out of memory) is retried by Ray, and after ``attempts`` such deaths it
    becomes a failed row instead of being decoded again, so the run ends."""
    keys = [f"decode:{a}" for a in batch.column("asset_id").to_pylist()] if ledger is not None else []
    if keys:
        before = ledger.begin(keys)
        gave_up = [i for i, n in enumerate(before) if n >= attempts]
        if gave_up:
            rows = [failed_row(batch.slice(i, 1).to_pylist()[0], RuntimeError(
                f"decoding this file ended the decode worker process {before[i]} times (a crash in a codec "
                f"library, or out of memory); it was not tried again. Convert it with another tool, or "
                f"report the file's codec")) for i in gave_up]
            block = to_stream_table(rows)
            yield writer(block) if writer is not None else block
            batch = batch.take(pa.array([i for i in range(batch.num_rows) if i not in set(gave_up)], pa.int64()))
    for block in decode_stream(batch, cfg, raise_errors, drop):
        yield writer(block) if writer is not None else block
    if keys:
        ledger.clear(keys)


def build(records: list, cfg: IngestConfig, keep: tuple[str, ...] = (), writer=None, ledger=None):
    """The Ray Data dataset whose batches are finished segment rows, ready for the sink.
    ``keep``: payload columns (:data:`medialake.schema.PAYLOADS`) to carry to the end even
    if no stage reads them. ``writer``: a :class:`~medialake.operators.fragments.FragmentWriter`
    that the last stage (the last model actor, or decode when no model runs) applies to its
    output on the worker, so the batches are receipts and the rows stay on the workers.
    ``ledger``: the run's :func:`~medialake.pipelines.adapter.new_ledger`, which the caller
    closes once the stream is consumed; without one, a new one (its counts are cleared as
    rows come back)."""
    import ray

    # photos first: one segment each, so whole assets are done (and searchable) as soon as
    # the pools are up; then the long files, largest first, so the run does not end on one
    # long file while the other workers have nothing left (longest first)
    table = records_table(sorted(records, key=lambda r: (r.media_type != "image", -(r.size or 0))))
    model_steps = steps(cfg)
    at_decode, after_step = payload_drops(model_steps)
    at_decode = tuple(c for c in at_decode if c not in keep)
    after_step = [tuple(c for c in d if c not in keep) for d in after_step]
    decode_cfg = cfg.decode
    if "frames" in at_decode and "ocr_frames" in at_decode:  # no stage reads frames: sample none
        decode_cfg = decode_cfg.model_copy(update={"frames_per_segment": 0})  # (the thumbnail is still made)
    if "ocr_frames" in at_decode:
        decode_cfg = decode_cfg.model_copy(update={"ocr_px": 0})
    # One block per file, so decode tasks run in parallel (a repartition would need a full CPU).
    # from_blocks puts and measures the Arrow blocks on the driver; from_arrow would start a Ray
    # task per file only to read each block's schema (get_table_block_metadata_schema), and
    # such short-lived task workers, ended once idle while the pools run, are where the
    # worker aborts at exit were seen (absl "Mutex corrupt", cf. ray-project/ray#18995).
    ds = ray.data.from_blocks([table.slice(i, 1) for i in range(table.num_rows)])
    # One attempt ledger for decode and every stage (its keys carry the role).
    if ledger is None:
        ledger = new_ledger()
    # neighbours that take no GPU share one actor pool: one process for their models
    pools = fuse(model_steps, cluster_gpus(), cfg.fuse_stages)
    first_pool = pool_args(pools[0])[2] if pools else None
    tasks = decode_tasks(cfg, first_pool, cluster_nodes())
    if tasks and not cfg.decode.concurrency:
        tasks = min(tasks, table.num_rows)  # a cap above the files makes Ray Data warn that it cannot reach it
    # decode fused into the first pool: a task per file, whose blocks of the pool's batch size
    # go through its stages as they are decoded (adapter.apply_step, per_file)
    per_file = decode_fuses(cfg, first_pool)
    if per_file:
        decode_cfg = decode_cfg.model_copy(update={"rows_per_block": min(decode_cfg.rows_per_block,
                                                                         first_pool["batch_size"])})
    ds = ds.map_batches(
        partial(decode, cfg=decode_cfg, raise_errors=cfg.on_error == "raise", drop=at_decode,
                writer=None if model_steps else writer, ledger=ledger, attempts=cfg.retries.attempts),
        batch_size=1, batch_format="pyarrow", num_cpus=cfg.decode.num_cpus,
        compute=ray.data.TaskPoolStrategy(size=tasks) if tasks else None,
        **({"resources": dict(cfg.decode.resources)} if cfg.decode.resources else {}),
    )
    first = 0
    for i, group in enumerate(pools):
        drop = tuple(c for d in after_step[first : first + len(group)] for c in d)
        first += len(group)
        ds = apply_step(ds, group, cfg, ledger=ledger, drop=drop, then=writer if i == len(pools) - 1 else None,
                        per_file=i == 0 and per_file)
    return ds


def vector_dims(cfg: IngestConfig) -> dict[str, int]:
    """Widths of the model-dependent vector columns the config fills, e.g. ``{"image_vector": 512}``.

    Read from each model's config without loading weights; a model whose config does not
    say is loaded once here to ask it.
    """
    from medialake.models.registry import embedding_dim, resolve

    by_role = {cls.role: cls for cls in STAGES}
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
            dim = by_role[role_name](model=role.model, device="cpu").encoder.dim
        dims[column] = int(dim)
    return dims
