"""Absolute evidence for a hit, and the stretch of words that matched.

Reciprocal rank fusion orders hits by where they rank, so a query about nothing still has
a "best" hit. This module says how much a moment actually matches, on a scale that does
not depend on the rest of the archive (``score`` in search results, 0 to 1):

- 1.0: the query's words occur as a phrase in the moment's text (and hold a content word);
- 0.9 x the share of the query's content words (stop words left out, light stems) that the
  moment's text holds;
- the cosine similarity of the query and the moment in the ``text`` embedding space
  (sentence embeddings of the combined text);
- for the other spaces (``image_text``, ``audio``) their cosine similarity, which gates
  only from ``SearchConfig.min_similarity`` of that space (not calibrated by default).

The moment's score is the largest of these; :attr:`SearchConfig.min_score` drops moments
below it. :func:`word_span` narrows a text hit to its matching words (``segments.words``).
"""

from __future__ import annotations

from medialake.search.fusion import Fused
from medialake.search.lists import words as tokens

#: How much a moment whose text holds every content word of the query (not as a phrase) scores.
ALL_TERMS = 0.9
#: What a moment holding one of a query's two content words scores (it passes the default cut-off).
TERM_SHARE_EXAMPLE = ALL_TERMS / 2


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
    words hold it, else every word whose stem is a query term; None when none match."""
    timed = _timed_tokens(words)
    if not timed:
        return None
    q = tokens(query)
    if len(q) >= 2:
        seq = [t for t, _, _ in timed]
        for i in range(len(seq) - len(q) + 1):
            if seq[i : i + len(q)] == q:
                return timed[i][1], timed[i + len(q) - 1][2]
    hits = [(a, b) for t, a, b in timed if stem(t) in terms]
    if not hits:
        return None
    return min(a for a, _ in hits), max(b for _, b in hits)


def tighten(f: Fused, query: str, terms: set[str], stem, pad_s: float) -> bool:
    """Narrow a text hit's ``start_s``/``end_s`` to its matching words, the end padded by
    ``pad_s`` (within the segment), the start at the first word so a player starts there.
    Returns whether it was narrowed (``f.row["_tight"]``)."""
    span = word_span(f.row.get("words"), query, terms, stem) if is_text_hit(f) else None
    if span is None:
        return False
    s, e = float(f.row["start_s"]), float(f.row["end_s"])
    a = min(max(span[0], s), e)
    f.row["start_s"], f.row["end_s"] = a, max(a, min(e, span[1] + pad_s))
    f.row["_tight"] = True
    return True


def score(segments: list[Fused], text: str | None, terms: set[str], phrase_ok: bool, stem,
          min_similarity: dict[str, float]) -> tuple[float, bool]:
    """(the moment's score, whether an uncalibrated space vouches for it on its own)."""
    best, vouched = 0.0, False
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
            best = max(best, sim)
            floor = min_similarity.get(space, 0.0)
            if space != "text" and (floor <= 0 or sim >= floor):
                vouched = True
    return round(best, 4), vouched
