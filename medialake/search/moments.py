"""Turn fused segment hits into moments, and mark the query words in their text.

A moment is a stretch of one asset: adjacent or overlapping hit segments of the same
asset (closer than ``gap_s``) merge into one, from the first start to the last end. It
keeps the best segment's score and thumbnail, and the text of its segments in time order.
A hit narrowed to its matching words (``row["_tight"]``) merges only with other narrowed
hits, so a phrase said across a window boundary is one moment, and a neighbouring window
that only an embedding found does not widen it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from medialake.search.fusion import Fused
from medialake.search.lists import words
from medialake.search.stopwords import ENGLISH

#: Words too common to mark (English function words; evidence also drops the moment's language's).
STOP = ENGLISH


@dataclass
class Moment:
    asset_id: str
    media_type: str
    start_s: float
    end_s: float
    score: float
    best: Fused
    segments: list[Fused] = field(default_factory=list)
    #: the absolute evidence (``medialake.search.evidence.score``), set after merging
    evidence: float = 0.0

    @property
    def tight(self) -> bool:
        return bool(self.best.row.get("_tight"))

    @property
    def text(self) -> str | None:
        seen, parts = set(), []
        for f in self.segments:
            t = (f.row.get("text") or "").strip()
            if t and t not in seen:
                seen.add(t)
                parts.append(t)
        return "\n".join(parts) or None

    def ranks(self) -> dict[str, int]:
        """Best rank of this moment in each ranked list it appears in."""
        out: dict[str, int] = {}
        for f in self.segments:
            for name, r in f.ranks.items():
                out[name] = min(r, out.get(name, r))
        return out


def _similarity(f: Fused) -> float | None:
    d = f.row.get("_distance")
    return None if d is None else 1.0 - float(d)


def _alike(a: Fused, b: Fused, ratio: float) -> bool:
    """Whether two hits are about equally relevant: a neighbour that a small table's vector
    list returns only because it returns everything must not widen the moment."""
    sa, sb = _similarity(a), _similarity(b)
    if sa is None or sb is None or ratio <= 0:
        return True
    hi, lo = max(sa, sb), min(sa, sb)
    return hi <= 0 or lo >= ratio * hi


def merge(fused: list[Fused], gap_s: float = 1.0, min_ratio: float = 0.5, word_gap_s: float = 3.0) -> list[Moment]:
    """Merge hits of one asset that touch (within ``gap_s``; narrowed hits: their matching
    words within ``word_gap_s``, a pause inside a sentence) into moments, best first.

    A hit joins a moment only when its vector similarity is at least ``min_ratio`` of the
    moment's best hit (hits without a vector distance, e.g. full-text only, always join).
    """
    by_asset: dict[str, list[Fused]] = {}
    for f in fused:
        by_asset.setdefault(f.row["asset_id"], []).append(f)
    moments: list[Moment] = []
    for aid, hits in by_asset.items():
        hits.sort(key=lambda f: (f.row["start_s"], f.row["end_s"]))
        cur: Moment | None = None
        for f in hits:
            s, e = float(f.row["start_s"]), float(f.row["end_s"])
            still = f.row.get("media_type") == "image" or e <= s
            tight = bool(f.row.get("_tight"))
            if (cur is not None and not still and s <= cur.end_s + (word_gap_s if tight else gap_s)
                    and _alike(f, cur.best, min_ratio) and tight == cur.tight):
                cur.end_s = max(cur.end_s, e)
                cur.segments.append(f)
                if f.score > cur.score:
                    cur.score, cur.best = f.score, f
                continue
            cur = Moment(aid, f.row.get("media_type"), s, e, f.score, f, [f])
            moments.append(cur)
    moments.sort(key=lambda m: (-m.score, m.asset_id, m.start_s))
    return moments


@lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A light English stem, enough to mark ``reviews`` for ``review`` (cached, as :func:`fold`)."""
    w = word.lower()
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if len(w) > len(suffix) + 2 and w.endswith(suffix):
            return w[: -len(suffix)]
    return w


def query_terms(text: str | None) -> set[str]:
    return {stem(w) for w in words(text or "") if w not in STOP}


def mark(text: str | None, terms: set[str], marks: tuple[str, str] = ("**", "**")) -> tuple[str | None, list[str]]:
    """``text`` with every word whose stem is in ``terms`` wrapped in ``marks``, and the
    words that matched.

    >>> mark("The quarterly budget reviews", {"budget", "review"})
    ('The quarterly **budget** **reviews**', ['budget', 'reviews'])
    """
    if not text or not terms:
        return text, []
    hits: list[str] = []

    def repl(m: re.Match) -> str:
        if stem(m.group(0)) in terms:
            hits.append(m.group(0))
            return f"{marks[0]}{m.group(0)}{marks[1]}"
        return m.group(0)

    return re.sub(r"\w+", repl, text), hits
