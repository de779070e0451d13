"""Diff a scan of the source against the ``assets`` table: what a run has to do.

``diff(records, previous, ...)`` sorts every scanned file and every known asset into one
outcome and returns the :class:`Changes` a run has to make:

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

Only the files of ``changes.todo`` need decoding and models. Content hashes are computed
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
class Changes:
    """What a run has to change. ``todo``: files to run through the pipeline. ``updates``:
    asset rows rewritten without model work (moves, duplicates, refreshed metadata).
    ``deleted``: asset ids whose files are all gone. ``counts``: files per outcome."""

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


@dataclass
class _Matching:
    """What :func:`diff` learns about the scanned files as it goes; its steps share it."""

    scanned: dict[str, FileRecord]
    hasher: Callable[[FileRecord], str]
    claimed: set[str]                                                  # uris some asset records
    pool: list[FileRecord] = field(default_factory=list)               # scanned files no asset holds (yet)
    kept: dict[str, list[dict]] = field(default_factory=dict)          # asset_id -> locations that still hold it
    lost: dict[str, bool] = field(default_factory=dict)                # asset_id -> a location vanished this run
    dirty: set[str] = field(default_factory=set)                       # assets whose row must be rewritten
    reprocess: dict[str, Work] = field(default_factory=dict)           # assets whose only file changed
    hashes: dict[str, str] = field(default_factory=dict)

    def hash(self, r: FileRecord) -> str:
        """The content hash of ``r``, computed at most once per run."""
        if r.uri not in self.hashes:
            self.hashes[r.uri] = self.hasher(r)
        return self.hashes[r.uri]


def diff(
    records: Iterable[FileRecord],
    previous: Iterable[dict],
    *,
    root: str,
    config_hash: str,
    model_versions: str | None = None,
    full: bool = False,
    hasher: Callable[[FileRecord], str],
) -> Changes:
    """Compare scanned ``records`` with ``previous`` asset rows; see the module docstring.

    ``root`` is the uri of the scanned source: assets with locations outside it are never
    deleted by this run. ``hasher(record)`` returns the content hash of a file.
    """
    assets = [dict(a) for a in previous if a.get("status") != "deleted"]
    m = _Matching(scanned={r.uri: r for r in records}, hasher=hasher,
                  claimed={loc["uri"] for a in assets for loc in asset_locations(a)})
    changes = Changes()
    for a in assets:
        _match_locations(a, m, root)
    m.pool.extend(r for u, r in m.scanned.items() if u not in m.claimed)
    m.pool.sort(key=lambda r: r.uri)
    new_rows = _place_unclaimed(assets, m, changes)
    for a in assets:
        _settle(a, m, changes, config_hash=config_hash, model_versions=model_versions, full=full)
    for aid, w in new_rows.items():
        changes.todo.append(w)
        changes.locations[aid] = m.kept[aid]
    return changes


def _match_locations(a: dict, m: _Matching, root: str) -> None:
    """Check each recorded location of asset ``a`` against the scan: still there, touched
    (same bytes), changed, or gone. Changed copies go to the pool of unclaimed files."""
    aid = a["asset_id"]
    keep, changed = [], []
    m.lost[aid] = False
    for loc in asset_locations(a):
        r = m.scanned.get(loc["uri"])
        if r is None:
            if under_root(loc["uri"], root):
                m.lost[aid] = True
                m.dirty.add(aid)
            else:
                keep.append(loc)  # outside this scan: not ours to judge
        elif same_metadata(r, loc):
            keep.append(loc)
        elif a.get("content_hash") and m.hash(r) == a["content_hash"]:
            keep.append(location(r))  # touched, same bytes: refresh the metadata
            m.dirty.add(aid)
        else:
            changed.append(r)
    if changed and not keep:
        r = changed.pop(0)  # the asset's only file changed: redo the asset in place
        m.reprocess[aid] = _work(r, aid, "changed", m.hash(r))
        keep = [location(r)]
    if changed:
        m.dirty.add(aid)
    m.pool.extend(changed)  # further changed copies become new or duplicate files
    m.kept[aid] = keep


def _place_unclaimed(assets: list[dict], m: _Matching, changes: Changes) -> dict[str, Work]:
    """Give each unclaimed file to the done asset holding the same bytes under the same
    media type (moved or duplicate: a misnamed copy is decoded on its own), or make it a
    new asset. Returns the new assets' work by asset id."""
    by_hash: dict[tuple[str, str], str] = {}
    for a in assets:
        if a["status"] == "done" and a.get("content_hash") and a["asset_id"] not in m.reprocess:
            by_hash.setdefault((a["content_hash"], a.get("media_type")), a["asset_id"])
    used_ids = {a["asset_id"] for a in assets}
    new_rows: dict[str, Work] = {}
    for r in m.pool:
        hv = m.hash(r)
        target = by_hash.get((hv, r.media_type)) or by_hash.get((hv, None))
        if target is not None:
            outcome = "moved" if m.lost.get(target) or not m.kept.get(target) else "duplicate"
            m.kept.setdefault(target, []).append(location(r))
            m.dirty.add(target)
            changes.counts[outcome] += 1
            continue
        aid = asset_id_for(r.uri)
        if aid in used_ids:
            aid = asset_id_for(f"{r.uri}#{hv}")
        used_ids.add(aid)
        by_hash[(hv, r.media_type)] = aid
        m.kept[aid] = [location(r)]
        new_rows[aid] = _work(r, aid, "new", hv)
        changes.counts["new"] += 1
    return new_rows


def _settle(a: dict, m: _Matching, changes: Changes, *, config_hash: str, model_versions: str | None,
            full: bool) -> None:
    """Decide what happens to known asset ``a``: changed, deleted, redone (retried, stale,
    forced), its row rewritten, or nothing; count its files."""
    aid = a["asset_id"]
    locs = m.kept.get(aid, [])
    if aid in m.reprocess:
        changes.todo.append(m.reprocess[aid])
        changes.counts["changed"] += 1
        changes.counts["unchanged"] += max(0, len(locs) - 1)
    elif not locs:
        changes.deleted.append(aid)
        changes.counts["deleted"] += 1
        return
    else:
        present = [l for l in locs if l["uri"] in m.scanned]
        primary = next((l for l in present if l["uri"] == a["uri"]), present[0] if present else None)
        outcome = _redo(a, config_hash, model_versions, full) if primary is not None else None
        n_old = sum(1 for l in present if l["uri"] in m.claimed)
        if outcome:
            r = m.scanned[primary["uri"]]
            changes.todo.append(_work(r, aid, outcome, a.get("content_hash") or m.hash(r)))
            changes.counts[outcome] += 1
            n_old -= 1
        changes.counts["unchanged"] += max(0, n_old)
        if not outcome and aid in m.dirty:
            changes.updates.append(_rewritten(a, locs))
    changes.locations[aid] = locs


def _redo(a: dict, config_hash: str, model_versions: str | None, full: bool) -> str | None:
    """Why an asset whose file is still there goes through the pipeline again, or None."""
    if a["status"] != "done":
        return "retried"
    if a.get("config_hash") != config_hash:
        return "stale"
    if model_versions is not None and a.get("model_versions") != model_versions:
        return "stale"
    return "forced" if full else None


def _rewritten(a: dict, locs: list[dict]) -> dict:
    """Asset row ``a`` with its locations ``locs``; its uri stays if it is among them."""
    uri = a["uri"] if any(l["uri"] == a["uri"] for l in locs) else locs[0]["uri"]
    first = next(l for l in locs if l["uri"] == uri)
    return {**a, "uri": uri, "size": first["size"], "mtime": first["mtime"], "etag": first.get("etag"),
            "locations": locs}


__all__ = ["OUTCOMES", "Changes", "Work", "content_hash", "diff", "location"]
