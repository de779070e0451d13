"""The library at a glance, for the page's landing view and its report.

``GET /api/library``: assets and hours by type, totals, the last run, failures grouped by
reason, and the most recent assets (with a thumbnail URL each). ``GET /report``: the
same self-contained HTML page as ``medialake report --html`` (:mod:`medialake.jobs.report_html`).
"""

from __future__ import annotations

import os
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse

RECENT = 12


def _plain(v: Any) -> Any:
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, float) and v != v:
        return None
    return v


def library(db: str, recent: int = RECENT) -> dict[str, Any]:
    """What the landing view shows: the report's tables as JSON, plus the ``recent`` newest
    done assets (id, name, type, duration, when, thumbnail URL)."""
    from medialake.jobs.report import report
    from medialake.store import Store

    tables = report(db, last_runs=5)
    out: dict[str, Any] = {name: [{k: _plain(v) for k, v in row.items()} for row in df.to_dicts()]
                           for name, df in tables.items()}
    out["totals"] = out["totals"][0] if out["totals"] else {}
    by_type: dict[str, dict] = {}
    for row in out["assets"]:
        t = by_type.setdefault(row["media_type"] or "?", {"media_type": row["media_type"], "assets": 0, "hours": 0.0,
                                                           "failed": 0})
        t["assets"] += row["assets"]
        t["hours"] += row["hours"] or 0.0
        if row["status"] == "failed":
            t["failed"] += row["assets"]
    out["by_type"] = sorted(by_type.values(), key=lambda r: r["media_type"] or "")
    out["last_run"] = out["runs"][0] if out["runs"] else None
    cols = ["asset_id", "uri", "media_type", "duration_s", "ingested_at", "status", "n_segments"]
    rows = Store(db, create=False).assets(columns=cols, where="status = 'done'").to_pylist()
    rows.sort(key=lambda r: r["ingested_at"] or datetime.min, reverse=True)
    out["recent"] = [{**{k: _plain(v) for k, v in r.items()},
                      "name": os.path.basename((r["uri"] or "").rstrip("/")),
                      "thumbnail_url": f"api/assets/{r['asset_id']}/thumbnail/0"} for r in rows[:recent]]
    return out


def add_library_routes(app: FastAPI, db: str) -> None:
    """``GET /api/library`` and ``GET /report``."""

    @app.get("/api/library", summary="The library at a glance", tags=["library"])
    def library_get(recent: Annotated[int, Query(ge=0, le=100, description="how many recent assets")] = RECENT,
                    ) -> dict[str, Any]:
        """Totals, assets and hours by type, the last runs, failures by reason, the newest assets."""
        return library(db, recent)

    @app.get("/report", include_in_schema=False)
    def report_page() -> HTMLResponse:
        from medialake.jobs.report_html import report_html

        return HTMLResponse(report_html(db))
