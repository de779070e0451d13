"""Run a search for the HTTP API: its query parameters as :class:`medialake.search.filters.Filters`.

The API's filter names are the ones the page and its users know (``type``, ``date_from``,
``date_to``); :func:`api_filters` maps them onto the search's own :class:`Filters`
(``media_type``, ``since``, ``until``), and :func:`run_search` runs
:func:`medialake.search.query.search` with them.
"""

from __future__ import annotations

from datetime import date

from medialake.search.filters import Filters


def _given(value):
    """``value``, or None for an empty parameter (``?language=`` means no filter)."""
    return None if value == "" else value


def api_filters(type: str | None = None, path_prefix: str | None = None, date_from: date | None = None,
                date_to: date | None = None, min_duration: float | None = None, max_duration: float | None = None,
                language: str | None = None, *, taken_since: date | None = None,
                taken_until: date | None = None) -> Filters:
    """The search's filters for the API's filter parameters; None or empty means "no filter"."""
    return Filters(media_type=_given(type), path_prefix=_given(path_prefix), since=_given(date_from),
                   until=_given(date_to), min_duration=min_duration, max_duration=max_duration,
                   language=_given(language), taken_since=_given(taken_since), taken_until=_given(taken_until))


def run_search(db: str, q: str | None, filters: Filters, limit: int,
               query_files: dict[str, str] | None = None, min_score: float | None = None) -> list[dict]:
    """Moments for the request, exactly as :func:`medialake.search.query.search` returns them,
    without the thumbnails' JPEG bytes. ``query_files``: ``{"image": path}`` or ``{"audio": path}``."""
    from medialake.search.query import search

    files = query_files or {}
    moments = search(q, db, image=files.get("image"), audio=files.get("audio"), filters=filters, limit=limit,
                     min_score=min_score)
    for m in moments:  # JPEG bytes stay out of JSON, as in the CLI's --json; the page asks /thumbnail
        m.pop("thumbnail", None)
    return moments
