"""Run a search for the HTTP API: pass each filter to the search function if it takes it.

The API accepts more filters than :func:`medialake.search.query.search` may know about.
Each filter goes to the search function under the first of its accepted names (see
``ALIASES``); a filter that the function does not take is applied here instead, on the
asset metadata of the hits, after fetching more hits than asked for. Image and audio
queries need the function to take them; if it does not, :class:`RoleNotConfigured`.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import dataclass, fields
from datetime import date, datetime, timezone

from medialake.errors import InputError
from medialake.store import Store, sql_in

#: API filter name -> names the search function may call it, first accepted wins.
ALIASES: dict[str, tuple[str, ...]] = {
    "type": ("type", "media_type"),
    "path_prefix": ("path_prefix", "prefix"),
    "date_from": ("date_from", "since", "after", "modified_after"),
    "date_to": ("date_to", "until", "before", "modified_before"),
    "min_duration": ("min_duration", "duration_min", "min_duration_s"),
    "max_duration": ("max_duration", "duration_max", "max_duration_s"),
    "language": ("language", "lang"),
}
QUERY_ALIASES: dict[str, tuple[str, ...]] = {
    "image": ("image", "image_path", "image_file"),
    "audio": ("audio", "audio_path", "audio_file"),
}
OVERFETCH = 10
MAX_FETCH = 1000


class RoleNotConfigured(InputError):
    """The search function cannot take this kind of query (its role is not configured)."""


@dataclass(frozen=True)
class Filters:
    """The filters the API takes; None means "no filter"."""

    type: str | None = None
    path_prefix: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    min_duration: float | None = None
    max_duration: float | None = None
    language: str | None = None

    def given(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) not in (None, "")}


def accepted_names(fn) -> tuple[set[str], bool]:
    """Keyword names ``fn`` takes, and whether it also takes ``**kwargs``."""
    params = inspect.signature(fn).parameters.values()
    names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return names, any(p.kind == p.VAR_KEYWORD for p in params)


def _pick(aliases: tuple[str, ...], names: set[str], var_kw: bool) -> str | None:
    for a in aliases:
        if a in names:
            return a
    return aliases[0] if var_kw else None


def plan(fn, filters: Filters, query_files: dict[str, str]) -> tuple[dict, dict]:
    """Split the request into (keyword arguments for ``fn``, filters to apply afterwards)."""
    names, var_kw = accepted_names(fn)
    kwargs, post = {}, {}
    for key, value in filters.given().items():
        name = _pick(ALIASES[key], names, var_kw)
        if name:
            kwargs[name] = value
        else:
            post[key] = value
    for kind, path in query_files.items():
        name = _pick(QUERY_ALIASES[kind], names, var_kw)
        if not name:
            raise RoleNotConfigured(
                f"searching by {kind} is not configured: this medialake's search takes no {kind} "
                f"query (no {kind} encoder role); search with words instead")
        kwargs[name] = path
    return kwargs, post


def _asset_ok(a: dict, post: dict) -> bool:
    uri = a.get("uri") or ""
    if "path_prefix" in post and not (uri.startswith(post["path_prefix"])
                                      or uri.removeprefix("file://").startswith(post["path_prefix"])):
        return False
    mtime = a.get("mtime")
    day = mtime.astimezone(timezone.utc).date() if isinstance(mtime, datetime) else None
    if "date_from" in post and (day is None or day < post["date_from"]):
        return False
    if "date_to" in post and (day is None or day > post["date_to"]):
        return False
    dur = a.get("duration_s")
    dur = None if dur is None or (isinstance(dur, float) and math.isnan(dur)) else dur
    if "min_duration" in post and (dur is None or dur < post["min_duration"]):
        return False
    if "max_duration" in post and (dur is None or dur > post["max_duration"]):
        return False
    return True


def post_filter(db: str, moments: list[dict], post: dict) -> list[dict]:
    """Keep the moments whose asset (and segment, for ``language``) pass ``post``."""
    if not post or not moments:
        return moments
    store = Store(db, create=False)
    ids = {m["asset_id"] for m in moments if m.get("asset_id")}
    assets = {a["asset_id"]: a for a in store.assets(["asset_id", "uri", "mtime", "duration_s"],
                                                     where=sql_in("asset_id", ids)).to_pylist()}
    out = [m for m in moments if m.get("asset_id") in assets and _asset_ok(assets[m["asset_id"]], post)]
    if "language" in post and out:
        seg_ids = {m.get("segment_id") for m in out if m.get("segment_id")}
        rows = (store.table("segments").search().where(sql_in("segment_id", seg_ids))
                .select(["segment_id", "language"]).limit(None).to_list()) if seg_ids else []
        lang = {r["segment_id"]: r["language"] for r in rows}
        out = [m for m in out if lang.get(m.get("segment_id")) == post["language"]]
    return out


def run_search(db: str, q: str | None, filters: Filters, limit: int,
               query_files: dict[str, str] | None = None) -> list[dict]:
    """Moments for the request, exactly as :func:`medialake.search.query.search` returns them."""
    from medialake.search.query import search

    kwargs, post = plan(search, filters, query_files or {})
    fetch = min(max(limit * OVERFETCH, 50), MAX_FETCH) if post else limit
    moments = search(q, db, limit=fetch, **kwargs)
    for m in moments:  # JPEG bytes stay out of JSON, as in the CLI's --json; the page asks /thumbnail
        m.pop("thumbnail", None)
    return post_filter(db, moments, post)[:limit]
