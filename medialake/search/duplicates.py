"""Near-duplicates: copies of one photo, video or sound (re-encoded, resized, cropped, converted).

Every asset has a signature: the perceptual hashes of its pictures (``segments.phash``: one
for a photo, one per keyframe for a video) or the fingerprint of its sound
(``assets.audio_fingerprint``). :func:`asset_distance` compares two signatures of one kind
(0 = identical, 1 = unrelated); :func:`groups` clusters the assets of a database (each
group led by its largest member, every other member within the threshold of the leader,
so distinct pictures never chain into one group); search collapses the members of a group
into one result (:func:`copies`).

Distances: photos and videos, the hashes' differing bits / 64 (a video's distance is the
mean, both ways, of each keyframe's nearest keyframe in the other); sounds, the
fingerprint distance of :mod:`medialake.operators.fingerprint`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from medialake.operators.fingerprint import fingerprint_distance
from medialake.operators.phash import hamming_matrix

#: Default thresholds (distance at or below which two assets are copies), per kind; chosen on
#: real photos and sounds with benchmarks/duplicates_bench.py (see the README): copies of the
#: scikit-image photos lie at most 12 bits apart (a 5% crop), distinct ones 16 or more, but
#: for the two views of one stereo pair (4 bits).
THRESHOLDS = {"picture": 12 / 64, "sound": 0.15}


@dataclass
class Signature:
    asset_id: str
    uri: str
    media_type: str
    weight: float  # larger members lead a group (pixels, or bytes)
    hashes: np.ndarray | None = None  # int64 perceptual hashes
    fingerprint: bytes | None = None

    @property
    def kind(self) -> str | None:
        if self.hashes is not None and len(self.hashes) and self.media_type in ("image", "video"):
            return "picture"
        return "sound" if self.fingerprint else None


def asset_distance(a: Signature, b: Signature) -> float:
    """How unlike two assets' signatures are (1.0 when they are of different kinds)."""
    if a.kind != b.kind or a.kind is None or (a.media_type == "video") != (b.media_type == "video"):
        return 1.0
    if a.kind == "sound":
        return fingerprint_distance(a.fingerprint, b.fingerprint)
    d = hamming_matrix(a.hashes, b.hashes)
    return round(float(max(d.min(axis=1).mean(), d.min(axis=0).mean())) / 64, 4)


_cache: dict = {}


def signatures(store) -> list[Signature]:
    """The signatures of the database's done assets (cached while the tables are unchanged)."""
    seg, assets = store.table("segments"), store.table("assets")
    key = (store.uri, seg.version, assets.version)
    if key in _cache:
        return _cache[key]
    have = set(assets.schema.names)
    cols = [c for c in ("asset_id", "uri", "media_type", "width", "height", "size", "audio_fingerprint") if c in have]
    rows = store.assets(cols, where="status = 'done'").to_pylist()
    hashes: dict[str, list[int]] = {}
    if "phash" in seg.schema.names:
        t = seg.search().where("phash IS NOT NULL").select(["asset_id", "segment_index", "phash"]).limit(None).to_arrow()
        order = np.lexsort((t.column("segment_index").to_numpy(), np.array(t.column("asset_id").to_pylist())))
        ids, hs = t.column("asset_id").to_pylist(), t.column("phash").to_numpy()
        for i in order:
            hashes.setdefault(ids[i], []).append(int(hs[i]))
    out = []
    for r in rows:
        pixels = (r.get("width") or 0) * (r.get("height") or 0)
        h = hashes.get(r["asset_id"])
        out.append(Signature(r["asset_id"], r["uri"], r["media_type"], float(pixels or r.get("size") or 0),
                             np.array(h, dtype=np.int64) if h else None, r.get("audio_fingerprint")))
    _cache.clear()
    _cache[key] = out
    return out


def _threshold(kind: str, threshold: float | None) -> float:
    return THRESHOLDS[kind] if threshold is None else float(threshold)


def _neighbours(sig: Signature, pool: list[Signature], threshold: float | None) -> list[tuple[Signature, float]]:
    """Members of ``pool`` within the threshold of ``sig`` (itself left out), nearest first."""
    kind = sig.kind
    if kind is None:
        return []
    limit = _threshold(kind, threshold)
    same = [s for s in pool if s.kind == kind and s.asset_id != sig.asset_id]
    if kind == "picture" and sig.media_type == "image":  # one hash each: one vectorised pass
        stills = [s for s in same if s.media_type == "image"]
        if not stills:
            return []
        d = hamming_matrix(sig.hashes[:1], np.array([s.hashes[0] for s in stills]))[0] / 64
        hits = [(s, round(float(x), 4)) for s, x in zip(stills, d) if x <= limit]
    else:
        hits = [(s, d) for s in same if (d := asset_distance(sig, s)) <= limit]
    return sorted(hits, key=lambda p: (p[1], p[0].uri))


def groups(store, threshold: float | None = None) -> list[list[dict]]:
    """Groups of near-duplicate assets, largest group first: lists of ``{asset_id, asset_uri,
    media_type, distance}``, the leader (largest member) first with distance 0."""
    sigs = sorted((s for s in signatures(store) if s.kind), key=lambda s: (-s.weight, s.uri))
    placed: set[str] = set()
    out = []
    for lead in sigs:
        if lead.asset_id in placed:
            continue
        free = [s for s in sigs if s.asset_id not in placed]
        members = [(s, d) for s, d in _neighbours(lead, free, threshold)]
        if not members:
            continue
        placed.add(lead.asset_id)
        placed.update(s.asset_id for s, _ in members)
        out.append([_entry(lead, 0.0)] + [_entry(s, d) for s, d in members])
    out.sort(key=lambda g: (-len(g), g[0]["asset_uri"]))
    return out


def _entry(s: Signature, d: float) -> dict:
    return {"asset_id": s.asset_id, "asset_uri": s.uri, "media_type": s.media_type, "distance": d}


def copies(store, asset_ids: list[str], threshold: float | None = None) -> dict[str, list[dict]]:
    """For each of ``asset_ids``: the other assets of the database that are its near-duplicates."""
    sigs = signatures(store)
    by_id = {s.asset_id: s for s in sigs}
    out = {}
    for aid in dict.fromkeys(asset_ids):
        s = by_id.get(aid)
        out[aid] = [_entry(o, d) for o, d in _neighbours(s, sigs, threshold)] if s is not None else []
    return out
