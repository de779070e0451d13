"""End to end through a local Ray: ingest the samples (plus a broken file), then search."""

import json
import shutil

import pytest

import medialake
from media import make_corrupt
from medialake.jobs.cli import main
from medialake.store import Store

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, samples, ray_local):
    src = tmp_path_factory.mktemp("archive")
    shutil.copytree(samples, src, dirs_exist_ok=True)
    make_corrupt(src / "video" / "broken.mp4")
    db = str(tmp_path_factory.mktemp("db") / "lake.lance")
    # The fast profile: the offline default without OCR (nothing here has text in pictures).
    summary = medialake.ingest(src, db, profile="fast")
    return src, db, summary


def test_ingest_summary_counts_the_broken_file_as_failed(ingested):
    src, db, summary = ingested
    assert (summary.seen, summary.ingested, summary.failed, summary.skipped) == (6, 5, 1, 0)
    assets = {a["uri"].rsplit("/", 1)[-1]: a for a in Store(db).assets().to_pylist()}
    assert assets["broken.mp4"]["status"] == "failed"
    assert "broken.mp4" in assets["broken.mp4"]["reason"]
    assert all(a["status"] == "done" for n, a in assets.items() if n != "broken.mp4")
    assert assets["cockatoo_budget.mp4"]["n_segments"] == 2
    segs = Store(db).table("segments").to_arrow()
    assert segs.num_rows == 7  # video 2, lighthouse 2, front_left 1, photos 2
    assert len(set(segs.column("segment_id").to_pylist())) == segs.num_rows


def test_spoken_phrase_is_found_in_the_right_asset_and_moment(ingested):
    _, db, _ = ingested
    hits = medialake.search("quarterly budget review", db=db, limit=3)
    top = hits[0]
    assert top["asset_uri"].endswith("cockatoo_budget.mp4") and top["media_type"] == "video"
    # "The quarterly budget review starts at nine." is spoken from 10.2 s to about 12.6 s; the
    # moment runs from the first matching word to the last (padded), not the 10 s window
    assert 10.2 <= top["start_s"] <= 11.2 and top["start_s"] + 1.0 <= top["end_s"] <= 13.6
    assert "budget" in top["text"].lower()
    audio = medialake.search("fresh bread delivered to the island", db=db, type="audio", limit=1)[0]
    assert audio["asset_uri"].endswith("lighthouse_keeper.mp3") and audio["start_s"] <= 11.0 <= audio["end_s"]


def test_second_run_skips_unchanged_files(ingested, capsys):
    src, db, _ = ingested
    (src / "images" / "astronaut.jpg").touch()  # mtime only: same content, not re-ingested
    with open(src / "images" / "chelsea.jpg", "ab") as f:  # new bytes: re-ingested
        f.write(b"\0")
    summary = medialake.ingest(src, db, profile="fast")  # same profile as the first run: nothing stale
    assert summary.skipped == 4 and summary.ingested == 1 and summary.failed == 1
    assert Store(db).table("segments").count_rows() == 7


def test_cli_search_json(ingested, capsys):
    _, db, _ = ingested
    assert main(["search", "front left", "--db", db, "--json", "--limit", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"asset_uri", "media_type", "start_s", "end_s", "score", "text"} <= set(out[0])
    assert out[0]["asset_uri"].endswith("front_left.oga")
