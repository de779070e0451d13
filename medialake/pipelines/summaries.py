"""The summary pass: one summary per asset, written to ``assets.summary`` after the run.

A summary needs all of an asset's segment texts, which only exist together once the sink
has written them; so this runs on the driver after the stream is drained, reading the
``segments`` table back for the assets of this run: the texts and the ``text_vector`` the
text role computed for each segment. The extractive summarizer (the default) needs
nothing else, so the driver loads no model: the pass is numpy over a few sentences per
asset. A causal-LM summarizer is loaded in a driver thread while the stream runs
(:func:`preload`), not after it.
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor

import pyarrow as pa

from medialake.pipelines.config import IngestConfig
from medialake.store import Store, sql_in

TEXT_COLUMNS = ("transcript", "ocr_text", "caption")


def asset_texts(store: Store, asset_ids: list[str]) -> dict[str, tuple[list[str], list | None]]:
    """Per asset, (its transcripts in time order, then its OCR text, then its captions;
    each text's segment ``text_vector``, or None when the table has no such column)."""
    seg = store.table("segments")
    have = set(seg.schema.names)
    with_vec = "text_vector" in have
    cols = ["asset_id", "segment_index"] + [c for c in TEXT_COLUMNS if c in have] + (["text_vector"] if with_vec else [])
    out: dict[str, tuple[list[str], list | None]] = {}
    for i in range(0, len(asset_ids), 500):
        part = seg.search().where(sql_in("asset_id", asset_ids[i : i + 500])).select(cols).limit(None).to_arrow()
        rows = defaultdict(list)
        for r in part.to_pylist():
            rows[r["asset_id"]].append(r)
        for aid, rs in rows.items():
            rs.sort(key=lambda r: r["segment_index"])
            picked = [(r[c], r.get("text_vector")) for c in TEXT_COLUMNS if c in have for r in rs if r.get(c)]
            out[aid] = ([t for t, _ in picked], [v for _, v in picked] if with_vec else None)
    return out


def load_summarizer(cfg: IngestConfig):
    from medialake.models.summarizer import make_summarizer

    role = cfg.summarizer
    return make_summarizer(role.model, device=role.device, options=role.options)


def preload(cfg: IngestConfig) -> Future | None:
    """Start loading a causal-LM summarizer in a driver thread; None when the role is off
    or extractive (nothing to load). The driver mostly waits on the stream, so the load
    overlaps the model stages."""
    if not cfg.summarizer.model or cfg.summarizer.model == "extractive":
        return None
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="medialake-summarizer")
    future = pool.submit(load_summarizer, cfg)
    pool.shutdown(wait=False)
    return future


def summarize_assets(store: Store, asset_ids: list[str], cfg: IngestConfig, loading: Future | None = None) -> int:
    """Summarise the done assets among ``asset_ids`` into ``assets.summary``; returns how many.
    ``loading``: the summarizer being loaded by :func:`preload` (loaded here otherwise)."""
    role = cfg.summarizer
    if not role.model or not asset_ids:
        return 0
    texts = asset_texts(store, asset_ids)
    if not texts:
        return 0
    summarizer = loading.result() if loading is not None else load_summarizer(cfg)
    summaries = {aid: summarizer.summarize(t, vectors) for aid, (t, vectors) in texts.items()}
    summaries = {a: s for a, s in summaries.items() if s}
    if not summaries:
        return 0
    rows = store.assets(where=sql_in("asset_id", list(summaries)) + " AND status = 'done'").to_pylist()
    for r in rows:
        r["summary"] = summaries[r["asset_id"]]
    store.upsert_assets(pa.Table.from_pylist(rows))
    return len(rows)
