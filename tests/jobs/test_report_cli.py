"""``medialake report`` (polars) and the search command line: options, filters, --explain."""

import json
from datetime import datetime, timezone

import pyarrow as pa
import pytest

from medialake.jobs.cli import main
from medialake.jobs.report import format_report, report
from medialake.store import Store


@pytest.fixture(scope="module")
def reported(lake, tmp_path_factory):
    # a copy of the lake with failed assets and runs added
    import shutil

    db = str(tmp_path_factory.mktemp("rep") / "lake.lance")
    shutil.copytree(lake, db)
    store = Store(db)
    now = datetime(2024, 5, 1, tzinfo=timezone.utc)
    store.upsert_assets(pa.Table.from_pylist([
        {"asset_id": f"bad{i}", "uri": f"/archive/bad/{i}.mp4", "media_type": "video", "status": "failed",
         "reason": f"DecodeError: cannot open /archive/bad/{i}.mp4: Invalid data found when processing input"}
        for i in range(3)] + [
        {"asset_id": "bad9", "uri": "/archive/bad/9.wav", "media_type": "audio", "status": "failed",
         "reason": "DecodeError: no audio stream"}]))
    store.add("runs", pa.Table.from_pylist([
        {"run_id": f"r{i}", "started_at": now.replace(day=1 + i), "finished_at": now.replace(day=1 + i, hour=1),
         "source": "/archive", "seen": 9, "ingested": 10 - i, "skipped": i, "failed": 4, "segments": 9} for i in range(7)]))
    return db


def test_report_counts_assets_hours_segments_failures_runs(reported):
    t = report(reported, last_runs=3)
    tot = t["totals"].row(0, named=True)
    assert (tot["assets"], tot["done"], tot["failed"], tot["segments"], tot["runs"]) == (9, 5, 4, 9, 7)
    assert tot["hours"] == pytest.approx((30 + 600 + 20 + 40) / 3600)
    by = {(r["media_type"], r["status"]): r["assets"] for r in t["assets"].to_dicts()}
    assert by == {("audio", "done"): 2, ("audio", "failed"): 1, ("image", "done"): 1, ("video", "done"): 2,
                  ("video", "failed"): 3}
    fails = t["failures"].to_dicts()
    assert fails[0]["assets"] == 3 and "<file>" in fails[0]["reason"] and "/archive/bad" not in fails[0]["reason"]
    assert fails[1] == {"reason": "DecodeError: no audio stream", "assets": 1, "example": "/archive/bad/9.wav"}
    assert t["runs"]["ingested"].to_list() == [4, 5, 6]  # newest first
    assert "failures by reason" in format_report(t)


def test_report_cli(reported, capsys, tmp_path):
    assert main(["report", "--db", reported]) == 0
    out = capsys.readouterr().out
    assert "assets: 9 (5 done, 4 failed)" in out and "last runs" in out
    assert main(["report", "--db", reported, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"][0]["segments"] == 9
    assert main(["report", "--db", str(tmp_path / "nope")]) == 2
    assert "run `medialake ingest" in capsys.readouterr().err


def test_report_html_is_one_self_contained_page_with_charts(reported, capsys, tmp_path):
    out = tmp_path / "report.html"
    assert main(["report", "--db", reported, "--html", str(out)]) == 0
    page = out.read_text()
    charts = ("Assets by type", "Hours of media by type", "Segments per modality", "Failures by reason",
              "Duration per run", "Throughput per run")
    assert all(c in page for c in charts)
    assert page.count("<svg") >= len(charts)  # inline SVG, one per chart
    assert "<script src" not in page and "<link" not in page  # nothing fetched from a CDN
    assert "DecodeError: no audio stream" in page and "/archive/bad/9.wav" in page  # failures with an example


def test_search_cli_filters_and_explain(lake, capsys):
    assert main(["search", "quarterly budget review", "--db", lake, "--explain", "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert "/archive/talks/budget.mp4" in out.splitlines()[0]
    assert "**budget**" in out and "matched in: " in out and "phrase #1" in out
    assert main(["search", "budget", "--db", lake, "--json", "--path-prefix", "/archive/radio", "--language", "en",
                 "--min-score", "0"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits and {h["asset_uri"] for h in hits} == {"/archive/radio/lighthouse.mp3"}
    assert main(["search", "budget", "--db", lake, "--since", "2030-01-01"]) == 0
    assert "no matches" in capsys.readouterr().out
    assert main(["search", "budget", "--db", lake, "--json", "--min-duration", "100", "--max-duration", "1000",
                 "--until", "2024-12-31", "--min-score", "0"]) == 0
    assert {h["asset_id"] for h in json.loads(capsys.readouterr().out)} == {"v2"}


def test_search_cli_bad_options_are_clear(lake, capsys):
    with pytest.raises(SystemExit):
        main(["search", "x", "--db", lake, "--since", "yesterday"])
    assert "not a date" in capsys.readouterr().err
    assert main(["search", "--db", lake]) == 2
    assert "give QUERY, --image FILE or --audio FILE" in capsys.readouterr().err
    assert main(["search", "--db", lake, "--image", "/nonexistent.jpg"]) == 2
    assert "image" in capsys.readouterr().err
