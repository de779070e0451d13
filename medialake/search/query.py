"""Search a medialake database for the moments that match a sentence, an image or a sound.

``search("quarterly budget review", db="demo.lance")`` embeds the query in every space
the database has (``medialake.search.spaces``), queries each vector column and the
full-text index under the filters, fuses the ranked lists with weighted reciprocal
rank fusion, narrows text hits to their matching words, merges neighbouring hits of one
asset into moments and drops those without enough evidence (``min_score``). Each moment
is a dict with ``asset_uri``, ``media_type``, ``start_s``, ``end_s``, ``score`` (absolute
evidence from 0 to 1, :mod:`medialake.search.evidence`), ``rank_score`` (fused rank, 1.0 =
first in every list), ``text``, ``marked_text`` (query words marked), ``thumbnail``
(JPEG bytes or None), and with ``explain=True`` which lists and words matched.
"""

from __future__ import annotations

import logging
from pathlib import Path

from medialake.errors import InputError
from medialake.integrity import ensure_intact
from medialake.schema import check_version
from medialake.search.config import SearchConfig
from medialake.search import evidence
from medialake.search.filters import MEDIA_TYPES, NOTHING, Filters
from medialake.search.frames import frame_hits, narrow, thumbnails as frame_thumbnails
from medialake.search.fusion import Ranked, rrf
from medialake.search.lists import (dataset_of, fetch_rows, fulltext_hits, gather, phash_hits, phrase_hits,
                                    take_rows, vector_hits)
from medialake.search.moments import Moment, mark, merge, query_terms, stem
from medialake.search.spaces import VectorQuery, embed_query
from medialake.store import Store, sql_in

__all__ = ["search", "MEDIA_TYPES"]

log = logging.getLogger(__name__)

#: What each ranked list returns (with ``_rowid`` and its distance or score): fusion needs
#: no more. DETAIL_COLUMNS are read afterwards, in one take, for the fused leaders only.
RANK_COLUMNS = ["segment_id"]
DETAIL_COLUMNS = ["asset_id", "media_type", "start_s", "end_s", "text", "language"]


def _text_calls(table, texts: list[str], k: int, where: str | None, cfg: SearchConfig, notes: list[str]) -> list:
    """(name, weight, call) for the full-text and phrase lists of each query text."""
    out = []
    for i, t in enumerate(texts):
        suffix = "" if i == 0 else f"<-{i}"
        for name, fn in (("fulltext", fulltext_hits), ("phrase", phrase_hits)):
            if cfg.weight(name) == 0:
                continue

            def call(fn=fn, t=t, name=name):
                try:
                    return fn(table, t, k, where=where, columns=RANK_COLUMNS)
                except Exception as e:  # no (positional) full-text index yet: the vectors still rank
                    notes.append(f"{name}: not searched ({str(e).splitlines()[0][:120]})")
                    return []

            out.append((name + suffix, cfg.weight(name), call))
    return out


def find_moments(table, vectors: list[VectorQuery], texts: list[str], where: str | None, cfg: SearchConfig,
                 limit: int, notes: list[str] | None = None,
                 hashes: list[int] | None = None, frames=None) -> tuple[list[Moment], dict[str, bytes | None]]:
    """Everything a search does after embedding the query: one ranked list per vector and
    per text (run side by side, ids and scores only; ``frames``: the frames table, searched
    with the ``image_text`` vectors under the same ``where``), weighted RRF, one take of the
    leading segments' rows (thumbnails included), moments, and the winners' thumbnails
    (``segment_id -> JPEG``). ``benchmarks/search_bench.py`` times exactly this."""
    notes = notes if notes is not None else []
    k = max(cfg.candidates, 4 * limit)
    text_calls = _text_calls(table, texts, k, where, cfg, notes)
    # exact re-ranking pays where a vector list's own order is the answer, not under RRF
    refine = cfg.refine_factor if len(vectors) + len(text_calls) <= 1 else cfg.fused_refine_factor
    calls = [(vq.name, cfg.weight(vq.space),
              lambda vq=vq: evidence.annotate(vq.name, vq.space, vector_hits(
                  table, vq.column, vq.vector, k, where=where, nprobes=cfg.nprobes, refine_factor=refine,
                  ef=cfg.ef, columns=RANK_COLUMNS)))
             for vq in vectors]
    if frames is not None and cfg.weight("frames") > 0:
        calls += [(f"frames<-{vq.source}", cfg.weight("frames"),
                   lambda vq=vq: evidence.annotate(f"frames<-{vq.source}", vq.space, frame_hits(
                       frames, vq.vector, k, where=where, nprobes=cfg.nprobes, refine_factor=refine or 1, ef=cfg.ef)))
                  for vq in vectors if vq.space == "image_text"]
    calls += text_calls
    if hashes and cfg.weight("phash") > 0:
        calls.append(("phash<-image", cfg.weight("phash"),
                      lambda: evidence.annotate("phash<-image", "phash", phash_hits(
                          table, hashes, k, where=where, max_bits=cfg.phash_bits))))
    results = gather([c for _, _, c in calls])
    lists = [Ranked(name, hits, weight) for (name, weight, _), hits in zip(calls, results)]
    fused = rrf(lists, cfg.rrf_k)
    if not fused:
        return [], {}
    # the lists return ids and scores only; one take by row id then reads what moments need
    # (times, text, timed words) for the leading hits, and a second the winners' thumbnails
    candidates = fused[: 3 * limit]
    ds = dataset_of(table)  # its schema is at hand; LanceDB's table.schema asks its event loop
    names = (ds.schema if ds is not None else table.schema).names
    # one take for the leaders, their thumbnails included: a second take for the winners'
    # thumbnails cost as much CPU as the first (a take's cost is per call, not per byte, at
    # these sizes; benchmarks/search_bench.py breakdown)
    cols = DETAIL_COLUMNS + [c for c in ("words", "thumbnail") if c in names]
    details = fetch_rows(table, [f.row for f in candidates], cols)
    query = " ".join(texts)
    terms = query_terms(query)
    for f in candidates:
        f.row.update(details.get(f.segment_id, {}))
    candidates = [f for f in candidates if f.row.get("asset_id") is not None]  # deleted since the lists ran
    if not refine and vectors:  # the lists' distances are the index's own: exact ones for the leaders
        evidence.exact_similarities(candidates, vectors, lambda ids, c: take_rows(table, ids, c))
    for f in candidates:
        evidence.tighten(f, query, terms, stem, cfg.word_pad_s) or narrow(f.row)
    moments = merge(candidates, cfg.merge_gap_s, cfg.merge_min_ratio, cfg.word_gap_s)
    moments = _gate(moments, terms, cfg, query)[:limit]
    heads = [m.best for m in moments]
    thumbs = {f.segment_id: details.get(f.segment_id, {}).get("thumbnail") for f in heads}
    shown = frame_thumbnails(frames, [f.row["_frame_rowid"] for f in heads if f.row.get("_tight_frame")])
    for f in heads:  # a moment a frame found shows that frame
        if shown.get(f.row.get("_frame_rowid")):
            thumbs[f.segment_id] = shown[f.row["_frame_rowid"]]
    for f in candidates:  # the JPEG bytes travel in the returned dict only
        f.row.pop("thumbnail", None)
    return moments, thumbs


def _gate(moments: list[Moment], terms: set[str], cfg: SearchConfig, query: str | None = None) -> list[Moment]:
    """The moments with enough absolute evidence (``cfg.min_score``), best score first."""
    kept = []
    calibrated = tuple(lang.lower() for lang in cfg.text_languages) if cfg.text_languages is not None else None
    for m in moments:
        m.evidence, vouched = evidence.score(
            m.segments, m.text, terms, bool(terms), stem, cfg.min_similarity, query=query or None,
            language=m.best.row.get("language"), text_languages=calibrated,
            other_language_similarity=cfg.other_language_similarity)
        if vouched or m.evidence >= cfg.min_score:
            kept.append(m)
    kept.sort(key=lambda m: (-m.evidence, -m.score, m.asset_id, m.start_s))
    return kept


def search(
    query: str | None = None,
    db: str | Path | None = None,
    *,
    image: str | Path | None = None,
    audio: str | Path | None = None,
    type: str | None = None,
    path_prefix: str | None = None,
    since=None,
    until=None,
    min_duration: float | None = None,
    max_duration: float | None = None,
    language: str | None = None,
    taken_since=None,
    taken_until=None,
    filters: Filters | None = None,
    limit: int = 10,
    min_score: float | None = None,
    explain: bool = False,
    config: SearchConfig | None = None,
    encoders: dict | None = None,
    text_model: str | None = None,
) -> list[dict]:
    """Return the best ``limit`` moments for a text ``query`` and/or an ``image`` or
    ``audio`` file, best first, among segments passing the filters (see
    :class:`medialake.search.filters.Filters`): given one by one (``type=`` is its
    ``media_type``), or as one ``filters=Filters(...)``, not both."""
    has_text = _check_request(query, db, image, audio, limit)
    loose = Filters(media_type=type, path_prefix=path_prefix, since=since, until=until,
                    min_duration=min_duration, max_duration=max_duration, language=language,
                    taken_since=taken_since, taken_until=taken_until)
    if filters is not None and loose != Filters():
        raise InputError("pass the filters either as filters=Filters(...) or one by one (type=, since=, ...), not both")
    cfg = config or SearchConfig()
    if min_score is not None:
        cfg = cfg.model_copy(update={"min_score": _min_score(min_score)})
    if text_model:
        cfg = cfg.model_copy(update={"models": {**cfg.models, "text": text_model}})
    store = Store(str(db), create=False)
    table = store.table("segments")
    ensure_intact(str(db), storage_options=store.storage_options)  # a lost data file: the fix, not a Lance trace
    check_version(table.schema, f"the segments table of {db}")
    where = _where(store, filters or loose)
    if where == NOTHING:
        return []
    embedded = embed_query(table, text=str(query) if has_text else None, image=image, audio=audio,
                           config=cfg, encoders=encoders)
    notes = list(embedded.notes)
    wanted = limit + min(limit, 20) if cfg.collapse_duplicates else limit  # room for copies folded away
    frames = store.frames() if any(v.space == "image_text" for v in embedded.vectors) else None
    if frames is not None and (filters or loose).language is not None:
        frames = None  # frames carry no language; the segments' image vectors still rank
        notes.append("frames: not searched under a language filter")
    moments, thumbs = find_moments(table, embedded.vectors, embedded.texts, where, cfg, wanted, notes,
                                   embedded.hashes, frames)
    if not moments:
        return []
    moments, copies = collapse(store, moments, cfg) if cfg.collapse_duplicates else (moments, {})
    moments = moments[:limit]
    uris = {a["asset_id"]: a["uri"] for a in
            store.assets(["asset_id", "uri"], where=sql_in("asset_id", {m.asset_id for m in moments})).to_pylist()}
    terms = query_terms(" ".join(embedded.texts))
    out = []
    for m in moments:
        row, matched = _moment_row(m, uris.get(m.asset_id), thumbs.get(m.best.segment_id), terms, cfg)
        row["copies"] = len(copies.get(m.asset_id, []))
        row["copy_uris"] = [c["asset_uri"] for c in copies.get(m.asset_id, [])[:10]]
        if explain:
            row["explain"] = {"lists": m.ranks(), "matched_terms": sorted({w.lower() for w in matched}),
                              "transcript": embedded.transcript, "notes": notes}
        out.append(row)
    return out


def _min_score(value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        v = float("nan")
    if not 0.0 <= v <= 1.0:
        raise InputError(f"min_score must be a number from 0 to 1 (0 keeps every hit), got {value!r}")
    return v


def collapse(store: Store, moments: list[Moment], cfg: SearchConfig) -> tuple[list[Moment], dict[str, list[dict]]]:
    """Drop the moments of assets that are near-duplicates of an asset ranked above them
    (whole photos and sounds, or a video's same stretch); returns the kept moments and,
    per kept asset, its copies in the database (``medialake.search.duplicates``)."""
    from medialake.search.duplicates import copies as copies_of

    try:
        found = copies_of(store, [m.asset_id for m in moments], cfg.duplicate_threshold)
    except Exception as e:  # an older database without signatures: nothing to collapse
        log.debug("near-duplicates not looked up: %s", e)
        return moments, {}
    kept: list[Moment] = []
    for m in moments:
        twin = next((k for k in kept if any(c["asset_id"] == m.asset_id for c in found.get(k.asset_id, []))
                     and (m.media_type != "video" or abs(k.start_s - m.start_s) < 1.0)), None)
        if twin is None:
            kept.append(m)
    return kept, {m.asset_id: found.get(m.asset_id, []) for m in kept}


def _check_request(query, db, image, audio, limit) -> bool:
    """Whether the query has words; InputError naming the fix for a request that cannot run."""
    if db is None:
        raise InputError("no database given; pass db=PATH (the --db of `medialake ingest`)")
    has_text = bool(query and str(query).strip())
    if not has_text and image is None and audio is None:
        raise InputError("the query is empty; pass a sentence to search for, an image file or an audio file")
    if not isinstance(limit, int) or limit < 1:
        raise InputError(f"limit must be at least 1, got {limit!r}")
    return has_text


def _where(store: Store, filters: Filters) -> str | None:
    """The segments condition for ``filters``, limited to committed assets: segments of an
    asset an ingest is writing right now stay hidden. :data:`NOTHING` when nothing can match."""
    where = filters.where(store)
    if where == NOTHING:
        return NOTHING
    committed = store.committed_filter()
    if committed:
        where = f"({where}) AND {committed}" if where else committed
    return where


def _moment_row(m: Moment, uri: str | None, thumbnail: bytes | None, terms: set[str],
                cfg: SearchConfig) -> tuple[dict, list[str]]:
    """The dict search returns for moment ``m``, and the query words its text holds."""
    text = m.text
    marked, matched = mark(text, terms, tuple(cfg.mark))
    row = {
        "asset_id": m.asset_id,
        "asset_uri": uri,
        "media_type": m.media_type,
        "segment_id": m.best.segment_id,
        "start_s": m.start_s,
        "end_s": m.end_s,
        "score": m.evidence,
        "rank_score": round(m.score, 4),
        "text": text,
        "marked_text": marked,
        "language": m.best.row.get("language"),
        "thumbnail": thumbnail,
        "segments": len(m.segments),
    }
    return row, matched
