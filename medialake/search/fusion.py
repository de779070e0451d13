"""Reciprocal rank fusion of ranked lists, with one weight per list.

Each list is a ranking of segment ids from one source (a vector space, the full-text
index, the phrase matcher). A segment's fused score is ``sum(w / (k + rank))`` over the
lists it appears in (rank from 1); it is normalised by the best possible score, so 1.0
means "first in every list". Cormack et al., SIGIR 2009.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Ranked:
    """One ranked list: its name (``text``, ``image_text``, ``audio``, ``fulltext``, ``phrase``)
    and its hits, best first, each a dict with at least ``segment_id``."""

    name: str
    hits: list[dict]
    weight: float = 1.0


@dataclass
class Fused:
    segment_id: str
    score: float
    row: dict
    ranks: dict[str, int] = field(default_factory=dict)  # list name -> rank (1-based)


def rrf(lists: list[Ranked], k: int = 60) -> list[Fused]:
    """Fuse ``lists`` into one ranking, best first.

    >>> a = Ranked("text", [{"segment_id": "x"}, {"segment_id": "y"}])
    >>> b = Ranked("fulltext", [{"segment_id": "y"}])
    >>> [f.segment_id for f in rrf([a, b])]
    ['y', 'x']
    """
    live = [lst for lst in lists if lst.weight > 0 and lst.hits]
    best = sum(lst.weight for lst in live) / (k + 1) or 1.0
    fused: dict[str, Fused] = {}
    for lst in live:
        for rank, hit in enumerate(lst.hits, 1):
            sid = hit["segment_id"]
            f = fused.get(sid)
            if f is None:
                f = fused[sid] = Fused(sid, 0.0, dict(hit))
            if lst.name in f.ranks:
                continue
            f.ranks[lst.name] = rank
            f.score += lst.weight / (k + rank)
            for key, value in hit.items():  # keep columns only some lists selected
                f.row.setdefault(key, value)
    out = sorted(fused.values(), key=lambda f: (-f.score, f.segment_id))
    for f in out:
        f.score = f.score / best
    return out
