"""The summary pass: one summary per asset, written to ``assets.summary`` after the run.

A summary needs all of an asset's segment texts, which only exist together once the sink
has written them; so this runs on the driver after the stream is drained, reading the
``segments`` table back for the assets of this run. Its cost is one summarizer call per
asset (extractive: one batch of sentence embeddings). The summarizer itself (for the
extractive one: torch, sentence-transformers and MiniLM, about 5 s) is loaded in a driver
thread while the stream runs (:func:`preload`), not after it.
"""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor

import pyarrow as pa

from medialake.pipelines.config import IngestConfig
from medialake.store import Store, sql_in

TEXT_COLUMNS = ("transcript", "ocr_text", "caption")


def asset_texts(store: Store, asset_ids: list[str]) -> dict[str, list[str]]:
    """Per asset, its transcripts in time order, then its OCR text, then its captions."""
    seg = store.table("segments")
    have = set(seg.schema.names)
    cols = ["asset_id", "segment_index"] + [c for c in TEXT_COLUMNS if c in have]
    out: dict[str, list[str]] = {}
    for i in range(0, len(asset_ids), 500):
        part = seg.search().where(sql_in("asset_id", asset_ids[i : i + 500])).select(cols).limit(None).to_arrow()
        rows = defaultdict(list)
        for r in part.to_pylist():
            rows[r["asset_id"]].append(r)
        for aid, rs in rows.items():
            rs.sort(key=lambda r: r["segment_index"])
            out[aid] = [r[c] for c in TEXT_COLUMNS if c in have for r in rs if r.get(c)]
    return out


def load_summarizer(cfg: IngestConfig):
    from medialake.models.summarizer import make_summarizer

    role = cfg.summarizer
    return make_summarizer(role.model, device=role.device, text_model=cfg.text.model or "all-MiniLM-L6-v2",
                           options=role.options)


def preload(cfg: IngestConfig) -> Future | None:
    """Start loading the summarizer in a driver thread; None when the role is off.
    The driver mostly waits on the stream, so the load overlaps the model stages."""
    if not cfg.summarizer.model:
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
    summaries = {aid: summarizer.summarize(t) for aid, t in texts.items()}
    summaries = {a: s for a, s in summaries.items() if s}
    if not summaries:
        return 0
    rows = store.assets(where=sql_in("asset_id", list(summaries)) + " AND status = 'done'").to_pylist()
    for r in rows:
        r["summary"] = summaries[r["asset_id"]]
    store.upsert_assets(pa.Table.from_pylist(rows))
    return len(rows)
