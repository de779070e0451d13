"""medialake: turn a media archive into Lance tables searchable across modalities.

The two entry points most users need::

    import medialake
    summary = medialake.ingest("samples", db="demo.lance")
    moments = medialake.search("quarterly budget review", db="demo.lance")

Heavy libraries (Ray, torch, PyAV, LanceDB) are imported only when a job runs, so
``import medialake`` stays fast.
"""

from __future__ import annotations

__version__ = "0.1.0"

from medialake.lazy_imports import defer_lance_rest_client as _defer

_defer()  # Lance's REST client (0.7 CPU-s an import) loads only if used

__all__ = ["ingest", "search", "__version__"]


def ingest(source, db, **kwargs):
    """Ingest a folder or file into the LanceDB database ``db``; see :func:`medialake.jobs.ingest.ingest`."""
    from medialake.jobs.ingest import ingest as _ingest

    return _ingest(source, db, **kwargs)


def search(query=None, db=None, **kwargs):
    """Search ``db`` for moments matching ``query``; see :func:`medialake.search.query.search`."""
    from medialake.search.query import search as _search

    return _search(query, db, **kwargs)
