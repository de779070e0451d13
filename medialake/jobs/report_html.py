"""``medialake report --html FILE``: the report as one self-contained page with charts.

Charts are drawn with matplotlib (the Agg backend, no display) as SVG and inlined, so the
page needs nothing else: no CDN, no script, no second file. It shows hours and assets by
type, duration and throughput of each run over time, failures by reason and segments per
modality, then the same tables as ``medialake report``. ``medialake serve`` offers it at
``/report``.
"""

from __future__ import annotations

import html
import io
from datetime import datetime, timezone

COLORS = {"video": "#1f6feb", "audio": "#8250df", "image": "#1a7f37", "text": "#bf8700"}
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;background:#f5f6f8;color:#1d2330}
header{background:#fff;border-bottom:1px solid #dde1e8;padding:16px 24px}h1{margin:0;font-size:22px}
.sub{color:#667085;margin-top:4px}main{padding:16px 24px 40px;max-width:1200px}
.tiles{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:16px}.tile{background:#fff;border:1px solid #dde1e8;
border-radius:10px;padding:10px 16px;min-width:120px}.tile b{display:block;font-size:22px}.tile span{color:#667085;font-size:13px}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:16px}
figure{background:#fff;border:1px solid #dde1e8;border-radius:10px;margin:0;padding:10px}
figure svg{width:100%;height:auto}figcaption{font-weight:600;margin-bottom:4px}
table{border-collapse:collapse;background:#fff;margin:6px 0 18px;font-size:14px}th,td{border:1px solid #dde1e8;
padding:4px 10px;text-align:left}th{background:#eef1f5}td.n{text-align:right;font-variant-numeric:tabular-nums}
.none{color:#667085}
"""


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog and doctype: inline SVG


def _figure(title: str, draw) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 3.0), dpi=96)
    drawn = draw(ax)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    body = _svg(fig) if drawn is not False else '<p class="none">(nothing yet)</p>'
    return f"<figure><figcaption>{html.escape(title)}</figcaption>{body}</figure>"


def _bars(ax, labels, values, unit: str, colors=None):
    if not labels:
        return False
    bars = ax.bar(labels, values, color=colors or [COLORS.get(str(x), "#667085") for x in labels])
    ax.bar_label(bars, fmt="%.2f" if any(isinstance(v, float) and v % 1 for v in values) else "%d", fontsize=8)
    ax.set_ylabel(unit)
    return True


def charts(tables: dict, runs) -> list[str]:
    """The report's charts as inline SVG figures (``runs``: every run, oldest first)."""
    import polars as pl

    by_type = tables["assets"].group_by("media_type").agg(pl.col("assets").sum(), pl.col("hours").sum()).sort("media_type")
    types = [str(t) for t in by_type["media_type"].to_list()]
    segs = tables["segments"]
    fails = tables["failures"].head(8)
    out = [
        _figure("Assets by type", lambda ax: _bars(ax, types, by_type["assets"].to_list(), "assets")),
        _figure("Hours of media by type", lambda ax: _bars(ax, types, by_type["hours"].to_list(), "hours")),
        _figure("Segments per modality", lambda ax: _bars(ax, [str(t) for t in segs["media_type"].to_list()],
                                                          segs["segments"].to_list(), "segments")),
    ]

    def failures(ax):
        if not fails.height:
            return False
        # a short label (the table below has the whole reason): up to the first detail, on two lines
        labels = [_short_reason(r) for r in fails["reason"].to_list()][::-1]
        ax.barh(labels, fails["assets"].to_list()[::-1], color="#b42318")
        ax.set_xlabel("assets")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.tick_params(axis="y", labelsize=8)
        return True

    out.append(_figure("Failures by reason", failures))

    def per_run(column: str, unit: str, color: str):
        def draw(ax):
            if not runs.height:
                return False
            ax.plot(runs["started_at"].to_list(), runs[column].to_list(), marker="o", color=color)
            ax.set_ylabel(unit)
            ax.tick_params(axis="x", labelsize=7, rotation=30)
            return True
        return draw

    out.append(_figure("Duration per run", per_run("seconds", "seconds", "#1f6feb")))
    out.append(_figure("Throughput per run", per_run("files_per_min", "files per minute", "#1a7f37")))
    return out


def _table(df) -> str:
    if not df.height:
        return '<p class="none">(none)</p>'
    head = "".join(f"<th>{html.escape(c)}</th>" for c in df.columns)
    rows = []
    for row in df.iter_rows():
        cells = []
        for v in row:
            num = isinstance(v, int | float) and not isinstance(v, bool)
            text = f"{v:.3f}" if isinstance(v, float) else ("" if v is None else str(v))
            cells.append(f'<td class="n">{html.escape(text)}</td>' if num else f"<td>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def report_html(db: str, last_runs: int = 20) -> str:
    """The whole page for database ``db``, as a string."""
    import polars as pl

    from medialake.jobs.report import report

    tables = report(db, last_runs=last_runs)
    every = report(db, last_runs=10_000)["runs"].sort("started_at")
    every = every.with_columns(
        (pl.col("ingested") + pl.col("failed")).alias("files"),
        pl.when(pl.col("seconds") > 0).then((pl.col("ingested") + pl.col("failed")) * 60 / pl.col("seconds"))
        .otherwise(0.0).alias("files_per_min"))
    t = tables["totals"].row(0, named=True)
    tiles = [("assets", t["assets"]), ("done", t["done"]), ("failed", t["failed"]),
             ("hours of media", f"{t['hours']:.2f}"), ("segments", t["segments"]), ("runs", t["runs"])]
    tiles_html = "".join(f'<div class="tile"><b>{html.escape(str(v))}</b><span>{k}</span></div>' for k, v in tiles)
    sections = "".join(f"<h2>{title}</h2>{_table(tables[name])}" for name, title in (
        ("assets", "Assets by type and status"), ("segments", "Segments by type"),
        ("failures", "Failures by reason"), ("runs", "Last runs")))
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>medialake report: {html.escape(str(db))}</title><style>{_CSS}</style></head><body>"
            f'<header><h1>medialake report</h1><div class="sub">{html.escape(str(db))} · {now}</div></header>'
            f'<main><div class="tiles">{tiles_html}</div><div class="charts">{"".join(charts(tables, every))}</div>'
            f"{sections}</main></body></html>")


def write_report_html(db: str, path: str, last_runs: int = 20) -> str:
    """Write :func:`report_html` of ``db`` to ``path``; returns ``path``."""
    with open(path, "w", encoding="utf-8") as f:
        f.write(report_html(db, last_runs))
    return path


def _short_reason(reason: str, width: int = 24) -> str:
    """``DecodeError: cannot open <file>: [Errno ...] ...`` -> two lines of the first part."""
    import textwrap

    head = reason.split(": [", 1)[0].split("; ", 1)[0]
    lines = textwrap.wrap(head, width) or [reason[:width]]
    return "\n".join(lines[:2]) + ("…" if len(lines) > 2 else "")
