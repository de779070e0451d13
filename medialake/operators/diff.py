"""Diff a scan of the source against the ``assets`` table: what a run has to do.

``diff(records, previous, ...)`` sorts every scanned file and every known asset into one
outcome and returns a :class:`Plan`:

- ``new``: a file whose content no asset holds; it goes through the pipeline.
- ``changed``: size, mtime or etag differ from what the asset recorded *and* the content
  hash differs too (a touched but identical file is ``unchanged``; its metadata is
  refreshed). The asset keeps its id and goes through the pipeline again.
- ``moved`` / ``duplicate``: a file not seen before whose content hash equals that of a
  done asset: no model work, the asset records the extra location (``moved`` when one
  of its old locations disappeared in the same run, ``duplicate`` otherwise).
- ``deleted``: an asset none of whose locations under the scanned root exists any more;
  the run removes its segments and marks it deleted.
- ``stale``: unchanged, but processed with another config hash or other model versions.
- ``retried``: unchanged, but not done (failed, or left pending by a crashed run).
- ``forced``: every other asset, when ``full`` is set.

Only the files of ``plan.todo`` need decoding and models. Content hashes are computed
only for files that are new or whose metadata changed, so a run over an unchanged
archive reads no file contents.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable, Iterable

from medialake.operators.scan import FileRecord, asset_id_for

OUTCOMES = ("new", "changed", "unchanged", "moved", "duplicate", "stale", "retried", "deleted", "forced")


@dataclass(frozen=True)
class Work:
    """A file to run through the pipeline, under the asset id it will be stored as."""

    uri: str
    path: str
    size: int
    mtime: datetime | None
    media_type: str
    asset_id: str
    outcome: str
    content_hash: str | None
    etag: str | None = None


@dataclass
class Plan:
    """What a run does. ``updates``: asset rows rewritten without model work (moves,
    duplicates, refreshed metadata). ``deleted``: asset ids whose files are all gone."""

    todo: list[Work] = field(default_factory=list)
    updates: list[dict] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)
    locations: dict[str, list[dict]] = field(default_factory=dict)  # asset_id -> locations

    def count(self, outcome: str) -> int:
        return self.counts.get(outcome, 0)


def content_hash(fs, path: str, chunk: int = 1 << 20) -> str:
    """BLAKE2b (128 bit) of the whole file at ``path`` on the ``pyarrow.fs`` filesystem."""
    h = hashlib.blake2b(digest_size=16)
    with fs.open_input_stream(path) as f:
        while True:
            b = f.read(chunk)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def location(r) -> dict:
    return {"uri": r.uri, "size": r.size, "mtime": r.mtime, "etag": getattr(r, "etag", None)}


def same_metadata(r: FileRecord, loc: dict) -> bool:
    """True when size, mtime and (where both have one) etag equal the recorded ones."""
    if loc.get("size") != r.size:
        return False
    if r.mtime is not None and loc.get("mtime") is not None and r.mtime != loc["mtime"]:
        return False
    if r.etag and loc.get("etag") and r.etag != loc["etag"]:
        return False
    return True


def under_root(uri: str, root: str) -> bool:
    root = root.rstrip("/")
    return uri == root or uri.startswith(root + "/")


def asset_locations(a: dict) -> list[dict]:
    """The recorded locations of an asset row (older rows only have ``uri``)."""
    locs = a.get("locations")
    if locs:
        return [dict(l) for l in locs]
    return [{"uri": a["uri"], "size": a.get("size"), "mtime": a.get("mtime"), "etag": a.get("etag")}]


def _work(r: FileRecord, asset_id: str, outcome: str, h: str | None) -> Work:
    return Work(uri=r.uri, path=r.path, size=r.size, mtime=r.mtime, media_type=r.media_type,
                asset_id=asset_id, outcome=outcome, content_hash=h, etag=r.etag)


def diff(
    records: Iterable[FileRecord],
    previous: Iterable[dict],
    *,
    root: str,
    config_hash: str,
    model_versions: str | None = None,
    full: bool = False,
    hasher: Callable[[FileRecord], str],
) -> Plan:
    """Compare scanned ``records`` with ``previous`` asset rows; see the module docstring.

    ``root`` is the uri of the scanned source: assets with locations outside it are never
    deleted by this run. ``hasher(record)`` returns the content hash of a file.
    """
    scanned = {r.uri: r for r in records}
    plan = Plan()
    hashes: dict[str, str] = {}

    def h(r: FileRecord) -> str:
        if r.uri not in hashes:
            hashes[r.uri] = hasher(r)
        return hashes[r.uri]

    assets = [dict(a) for a in previous if a.get("status") != "deleted"]
    used_ids = {a["asset_id"] for a in assets}
    claimed: set[str] = set()
    pool: list[FileRecord] = []          # scanned files no asset holds (yet)
    kept: dict[str, list[dict]] = {}     # asset_id -> locations that still hold it
    lost: dict[str, bool] = {}           # asset_id -> a location vanished this run
    dirty: set[str] = set()              # assets whose row must be rewritten
    reprocess: dict[str, Work] = {}
    for a in assets:
        claimed.update(l["uri"] for l in asset_locations(a))
    for a in assets:
        aid = a["asset_id"]
        keep, changed = [], []
        lost[aid] = False
        for loc in asset_locations(a):
            r = scanned.get(loc["uri"])
            if r is None:
                if under_root(loc["uri"], root):
                    lost[aid] = True
                    dirty.add(aid)
                else:
                    keep.append(loc)  # outside this scan: not ours to judge
            elif same_metadata(r, loc):
                keep.append(loc)
            elif a.get("content_hash") and h(r) == a["content_hash"]:
                keep.append(location(r))  # touched, same bytes: refresh the metadata
                dirty.add(aid)
            else:
                changed.append(r)
        if changed and not keep:
            r = changed.pop(0)  # the asset's only file changed: redo the asset in place
            reprocess[aid] = _work(r, aid, "changed", h(r))
            keep = [location(r)]
        if changed:
            dirty.add(aid)
        pool.extend(changed)  # further changed copies become new or duplicate files
        kept[aid] = keep
    pool.extend(r for u, r in scanned.items() if u not in claimed)
    pool.sort(key=lambda r: r.uri)

    # same bytes under the same media type: one asset (a misnamed copy is decoded on its own)
    by_hash: dict[tuple[str, str], str] = {}
    for a in assets:
        if a["status"] == "done" and a.get("content_hash") and a["asset_id"] not in reprocess:
            by_hash.setdefault((a["content_hash"], a.get("media_type")), a["asset_id"])
    new_rows: dict[str, Work] = {}
    for r in pool:
        hv = h(r)
        target = by_hash.get((hv, r.media_type)) or by_hash.get((hv, None))
        if target is not None:
            outcome = "moved" if lost.get(target) or not kept.get(target) else "duplicate"
            kept.setdefault(target, []).append(location(r))
            dirty.add(target)
            plan.counts[outcome] += 1
            continue
        aid = asset_id_for(r.uri)
        if aid in used_ids:
            aid = asset_id_for(f"{r.uri}#{hv}")
        used_ids.add(aid)
        by_hash[(hv, r.media_type)] = aid
        kept[aid] = [location(r)]
        new_rows[aid] = _work(r, aid, "new", hv)
        plan.counts["new"] += 1

    for a in assets:
        aid = a["asset_id"]
        locs = kept.get(aid, [])
        if aid in reprocess:
            w = reprocess[aid]
            plan.todo.append(w)
            plan.counts["changed"] += 1
            plan.counts["unchanged"] += max(0, len(locs) - 1)
        elif not locs:
            plan.deleted.append(aid)
            plan.counts["deleted"] += 1
            continue
        else:
            present = [l for l in locs if l["uri"] in scanned]
            primary = next((l for l in present if l["uri"] == a["uri"]), present[0] if present else None)
            outcome = None
            if primary is not None:
                if a["status"] != "done":
                    outcome = "retried"
                elif a.get("pipeline_version") != config_hash or (
                        model_versions is not None and a.get("model_versions") != model_versions):
                    outcome = "stale"
                elif full:
                    outcome = "forced"
            n_old = sum(1 for l in present if l["uri"] in claimed)
            if outcome:
                r = scanned[primary["uri"]]
                plan.todo.append(_work(r, aid, outcome, a.get("content_hash") or h(r)))
                plan.counts[outcome] += 1
                n_old -= 1
            plan.counts["unchanged"] += max(0, n_old)
            if not outcome and aid in dirty:
                uri = a["uri"] if any(l["uri"] == a["uri"] for l in locs) else locs[0]["uri"]
                first = next(l for l in locs if l["uri"] == uri)
                plan.updates.append({**a, "uri": uri, "size": first["size"], "mtime": first["mtime"],
                                     "etag": first.get("etag"), "locations": locs})
        plan.locations[aid] = locs
    for aid, w in new_rows.items():
        plan.todo.append(w)
        plan.locations[aid] = kept[aid]
    return plan


__all__ = ["OUTCOMES", "Plan", "Work", "content_hash", "diff", "location"]
