"""Absolute evidence for a hit, and the stretch of words that matched.

Reciprocal rank fusion orders hits by where they rank, so a query about nothing still has
a "best" hit. This module says how much a moment actually matches, on a scale that does
not depend on the rest of the archive (``score`` in search results, 0 to 1):

- 1.0: the query's words occur as a phrase in the moment's text (and hold a content word);
- 0.9 x the share of the query's content words that the moment's text holds (the stop
  words of the moment's language and English's left out, accents folded, light stems:
  :mod:`medialake.search.stopwords`);
- the cosine similarity of the query and the moment in the ``text`` embedding space
  (sentence embeddings of the combined text). The encoder is calibrated for the languages
  of ``SearchConfig.text_languages`` (English for all-MiniLM-L6-v2); in a moment of another
  detected language, unrelated lines reach cosines of 0.7-0.85 and matching ones 0.5-0.7
  (``benchmarks/text_floor_bench.py``),
  so there the similarity counts only from ``SearchConfig.other_language_similarity``;
- for the other spaces (``image_text``, ``audio``) their cosine similarity, which gates
  only from ``SearchConfig.min_similarity`` of that space (not calibrated by default).

The moment's score is the largest of these; :attr:`SearchConfig.min_score` drops moments
below it. :func:`word_span` narrows a text hit to its matching words (``segments.words``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from medialake.search.fusion import Fused
from medialake.search.lists import words as _words
from medialake.search.stopwords import fold, stop_words

#: How much a moment whose text holds every content word of the query (not as a phrase) scores.
ALL_TERMS = 0.9
#: What a moment holding one of a query's two content words scores (it passes the default cut-off).
TERM_SHARE_EXAMPLE = ALL_TERMS / 2


def tokens(text: str) -> list[str]:
    """The words of ``text``, lower-cased and accent-folded."""
    return [fold(w) for w in _words(text)]


@lru_cache(maxsize=256)
def _content_terms(query: str, language: str | None, stem) -> frozenset[str]:
    stop = stop_words(language)
    return frozenset(stem(w) for w in tokens(query) if w not in stop)


def content_terms(query: str, language: str | None, stem) -> set[str]:
    """The stems of ``query``'s words that are not stop words in ``language`` (nor English)."""
    return set(_content_terms(query, language, stem))


def similarity_key(list_name: str) -> str:
    """The hit column that keeps one vector list's cosine similarity through fusion."""
    return f"_sim:{list_name}"


def annotate(list_name: str, space: str | None, hits: list[dict]) -> list[dict]:
    """Record each vector hit's cosine similarity (and its space) under the list's name."""
    for h in hits:
        d = h.get("_distance")
        if d is not None:
            h[similarity_key(list_name)] = (space, 1.0 - float(d))
    return hits


def is_text_hit(f: Fused) -> bool:
    """Whether the full-text or phrase list found the hit (its words are in the text)."""
    return any(n.startswith(("fulltext", "phrase")) for n in f.ranks)


def _timed_tokens(words: list[dict] | None) -> list[tuple[str, float, float]]:
    out = []
    for w in words or []:
        for t in tokens(w.get("word") or ""):
            out.append((t, float(w["start"]), float(w["end"])))
    return out


def word_span(words: list[dict] | None, query: str, terms: set[str], stem) -> tuple[float, float] | None:
    """(start of the first, end of the last) matching word: the query as a phrase where the
    words hold it, else every word whose stem is a query term, widened over the query's
    other words (its stop words) said right next to them; None when none match."""
    timed = _timed_tokens(words)
    if not timed:
        return None
    q = tokens(query)
    if len(q) >= 2:
        seq = [t for t, _, _ in timed]
        for i in range(len(seq) - len(q) + 1):
            if seq[i : i + len(q)] == q:
                return timed[i][1], timed[i + len(q) - 1][2]
    idx = [i for i, (t, _, _) in enumerate(timed) if stem(t) in terms]
    if not idx:
        return None
    i, j, said = idx[0], idx[-1], set(q)
    while i > 0 and timed[i - 1][0] in said:  # the query's stop words next to the match belong to it
        i -= 1
    while j + 1 < len(timed) and timed[j + 1][0] in said:
        j += 1
    return timed[i][1], timed[j][2]


def tighten(f: Fused, query: str, terms: set[str], stem, pad_s: float) -> bool:
    """Narrow a text hit's ``start_s``/``end_s`` to its matching words, the end padded by
    ``pad_s`` (within the segment), the start at the first word so a player starts there.
    Returns whether it was narrowed (``f.row["_tight"]``)."""
    terms = content_terms(query, f.row.get("language"), stem) if query else terms
    span = word_span(f.row.get("words"), query, terms, stem) if is_text_hit(f) and terms else None
    if span is None:
        return False
    s, e = float(f.row["start_s"]), float(f.row["end_s"])
    a = min(max(span[0], s), e)
    f.row["start_s"], f.row["end_s"] = a, max(a, min(e, span[1] + pad_s))
    f.row["_tight"] = True
    return True


def score(segments: list[Fused], text: str | None, terms: set[str], phrase_ok: bool, stem,
          min_similarity: dict[str, float], query: str | None = None, language: str | None = None,
          text_languages: tuple[str, ...] | None = None, other_language_similarity: float = 0.0) -> tuple[float, bool]:
    """(the moment's score, whether an uncalibrated space vouches for it on its own).

    With ``query``, the terms are its content words in the moment's ``language``; with
    ``text_languages``, a ``text``-space similarity of a moment in another (detected)
    language counts only from ``other_language_similarity``."""
    best, vouched = 0.0, False
    if query is not None:
        terms = content_terms(query, language, stem)
        phrase_ok = phrase_ok and bool(terms)
    uncalibrated = bool(language and text_languages is not None
                        and language.split("-")[0].lower() not in text_languages)
    if terms:
        have = {stem(t) for t in tokens(text or "")}
        best = ALL_TERMS * len(terms & have) / len(terms)
        if phrase_ok and any(n.startswith("phrase") for f in segments for n in f.ranks):
            best = 1.0
    for f in segments:
        for key, value in f.row.items():
            if not key.startswith("_sim:") or not isinstance(value, tuple):
                continue
            space, sim = value
            if space == "text" and uncalibrated and sim < other_language_similarity:
                continue
            best = max(best, sim)
            floor = min_similarity.get(space, 0.0)
            if space != "text" and (floor <= 0 or sim >= floor):
                vouched = True
    return round(best, 4), vouched


def exact_similarities(candidates: list[Fused], vectors: list, take) -> None:
    """Give the hits of vector lists that were not re-ranked on full vectors their exact
    cosine similarity (and ``_distance``): from the candidates' own vectors, read in one take
    (``take(row_ids, columns)`` -> Arrow). An index's quantised distance is on its own scale
    (IVF_HNSW_SQ: about twice the cosine distance, exact ones for a table's unindexed rows),
    which the gate and the moment merge would misread; re-ranking 50 hits per list to learn
    the distances of the 30 leaders read more vectors than this take does."""
    wanted = [vq for vq in vectors if any(similarity_key(vq.name) in f.row for f in candidates)]
    ids = [f.row["_rowid"] for f in candidates if f.row.get("_rowid") is not None]
    if not wanted or not ids:
        return
    cols = sorted({vq.column for vq in wanted})
    t = take(ids, ["segment_id", *cols])
    at = {sid: i for i, sid in enumerate(t.column("segment_id").to_pylist())}
    sims: dict[str, np.ndarray] = {}
    for vq in wanted:
        arr = t.column(vq.column).combine_chunks()
        dim = arr.type.list_size
        mat = arr.values.to_numpy(zero_copy_only=False)[arr.offset * dim:(arr.offset + len(arr)) * dim]
        mat = mat.reshape(len(arr), dim).astype(np.float32, copy=False)
        q = np.asarray(vq.vector, dtype=np.float32)
        norms = np.linalg.norm(mat, axis=1) * max(float(np.linalg.norm(q)), 1e-12)
        s = (mat @ q) / np.maximum(norms, 1e-12)
        s[np.asarray(arr.is_null())] = np.nan
        sims[vq.name] = s
    for f in candidates:
        i, first = at.get(f.segment_id), True
        for vq in wanted:
            key = similarity_key(vq.name)
            if key not in f.row:
                continue
            if i is not None and not np.isnan(sims[vq.name][i]):
                f.row[key] = (vq.space, float(sims[vq.name][i]))
                if first:  # rrf kept the first vector list's distance on the row
                    f.row["_distance"] = 1.0 - float(sims[vq.name][i])
            first = False
