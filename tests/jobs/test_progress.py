"""What an ingest shows while it runs (medialake.jobs.progress), and what it does not show.

The counting is tested on receipts made by the real FragmentWriter (what the sink gets
from the workers) and on plain stream rows; the terminal output on real ingests of
samples/ with samples/demo.yaml: in a pseudo-terminal (rich), through pipes (plain lines,
as under cron or CI), with --quiet, and with --verbose (which does show Ray's output, so
the absence of it otherwise means something).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

from medialake import schema
from medialake.jobs.progress import IngestProgress, Tally
import ptyrun
from ptyrun import medialake_in_pty

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"
DEMO = SAMPLES / "demo.yaml"

#: What Ray shows of itself when left alone (issue 17): none of it may reach the user by default.
RAY_INTERNALS = re.compile(
    r"InputDataBuffer|ActorPoolMapOperator|TaskPoolMapOperator|MapBatches|Execution plan|Running Dataset|"
    r"core_worker|raylet|progress UI|\(pid=|\bpid=\d+|Mutex|SIGABRT|Fatal Python|Check failed|"
    r"Started a local Ray instance|ray\.data|DataContext|object store|\bWARNING\b|Traceback|"
    r"UserWarning|FutureWarning|DeprecationWarning|Guarded|RetryingStage")
ROLES = {"decode", "asr", "ocr", "text", "image_text", "audio", "captioner", "summarizer"}


def _rows(n_asset_segments: dict[str, int], duration: float = 10.0) -> pa.Table:
    """Stream rows as decode makes them: segments of each asset, then its closing marker."""
    rows = []
    for aid, n in n_asset_segments.items():
        for i in range(n):
            rows.append({"asset_id": aid, "uri": f"/a/{aid}.mp4", "media_type": "video", "duration_s": duration,
                         "segment_id": f"{aid}-{i}", "modality": "video", "segment_index": i, "start_s": i * duration / n, "end_s": (i + 1) * duration / n})
        rows.append({"asset_id": aid, "uri": f"/a/{aid}.mp4", "media_type": "video", "duration_s": duration,
                     "segment_index": -1, "n_segments": n})
    return pa.Table.from_pylist(rows, schema=schema.STREAM)


def _receipts(tmp_path, table: pa.Table) -> pa.Table:
    """``table`` through the real FragmentWriter of a real segments table: a receipt."""
    from medialake.operators.sink import writer_for
    from medialake.store import Store

    return writer_for(Store(str(tmp_path / "lake")))(table)


@pytest.mark.parametrize("as_receipts", [True, False])
def test_tally_counts_files_segments_and_media_hours(tmp_path, as_receipts):
    first = _rows({"a": 3})
    second = _rows({"b": 2})
    if as_receipts:
        first, second = _receipts(tmp_path, first), _receipts(tmp_path, second)
        assert "written" in first.column_names and first.num_rows == 2  # one receipt row per asset + the marker
    t = Tally(total=3, sizes={"a": 100, "b": 100, "c": 200})
    t.add(first)
    assert (t.done, t.failed, t.segments) == (1, 0, 3)
    assert t.media_s == pytest.approx(10.0)
    assert t.fraction() == pytest.approx(0.25)
    t.add(second)
    assert (t.done, t.segments) == (2, 5) and t.media_s == pytest.approx(20.0)
    failed = pa.Table.from_pylist([{"asset_id": "c", "uri": "/a/broken.mp3", "media_type": "audio",
                                    "segment_index": -1, "error": "no audio or video stream in it\nmore"}],
                                  schema=schema.STREAM)
    t.add(failed)
    assert (t.done, t.failed) == (2, 1) and t.fraction() == 1.0
    assert t.latest_failure == "broken.mp3: no audio or video stream in it"
    assert t.media_s == pytest.approx(20.0)  # a failed file adds no hours


def test_an_asset_counts_once_its_last_segment_is_in_even_before_its_marker(tmp_path):
    rows = _rows({"a": 4})
    marker_first = pa.concat_tables([rows.slice(4, 1), rows.slice(0, 2)])
    t = Tally(total=1)
    t.add(_receipts(tmp_path, marker_first))
    assert (t.done, t.segments) == (0, 2) and t.media_s == pytest.approx(5.0)  # half of its 10 s
    t.add(_receipts(tmp_path, rows.slice(2, 2)))
    assert (t.done, t.segments) == (1, 4) and t.media_s == pytest.approx(10.0)


def test_plain_lines_when_not_a_terminal_and_nothing_when_quiet():
    out = io.StringIO()  # no isatty(): plain lines
    p = IngestProgress(mode="auto", stream=out, interval=0.05, bottleneck=lambda: "asr")
    assert p.mode == "plain"
    p.begin(2, {"a": 1, "b": 1})
    p.batch(_rows({"a": 2}))
    deadline = time.monotonic() + 30
    while "files 1/2" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)
    p.close()
    line = next(x for x in out.getvalue().splitlines() if "files 1/2" in x)
    assert re.match(r"\[\d+:\d\d\] files 1/2, 2 segments, 0\.00 h of media \(\d+\.\dx real time\), ETA \d+:\d\d, "
                    r"slowest stage: asr$", line), line
    quiet = io.StringIO()
    q = IngestProgress(mode="quiet", stream=quiet, interval=0.01)
    q.begin(1)
    q.batch(_rows({"a": 1}))
    time.sleep(0.1)
    q.close()
    assert quiet.getvalue() == "" and q.fields()["files"] == "1/1"


def _env(**extra) -> dict:
    env = {**os.environ, **extra}
    env.pop("MEDIALAKE_PROGRESS", None)  # tests/conftest.py turns Ray's bars off; show what a user sees
    return env


def _shown_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


pytestmark_slow = pytest.mark.slow


@pytestmark_slow
def test_ingest_in_a_terminal_shows_medialakes_progress_and_nothing_of_ray(tmp_path):
    shown = medialake_in_pty("ingest", str(SAMPLES), "--db", str(tmp_path / "db"), "--config", str(DEMO))
    text = ptyrun.ANSI.sub("\n", re.sub(r"\x1b\[[0-9;]*m", "", shown.raw))  # colours out, cursor moves as breaks
    assert shown.rc == 0, text
    assert re.search(r"files [0-5]/5", text) and "files 5/5" in text, text
    assert "segments" in text and "h (" in text  # segments, hours of media and times real time
    assert "assets seen: 5, ingested: 5, skipped: 0, failed: 0" in text, text
    assert re.search(r"\d+\.\d\d h of media in [\d.]+ s \([\d.]+x real time\)", text), text
    bad = sorted({m.group(0) for m in RAY_INTERNALS.finditer(text)})
    assert not bad, (bad, text[-3000:])


@pytestmark_slow
def test_ingest_through_pipes_prints_plain_lines_with_failures_and_the_slowest_stage(tmp_path):
    src = tmp_path / "archive"
    shutil.copytree(SAMPLES, src)
    (src / "audio" / "voicemail.mp3").write_bytes(b"not audio at all\n" * 64)
    r = subprocess.run([sys.executable, "-m", "medialake", "ingest", str(src), "--db", str(tmp_path / "db"),
                        "--config", str(DEMO)], cwd=REPO, capture_output=True, text=True, timeout=900,
                       env=_env(MEDIALAKE_PROGRESS_INTERVAL="1"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "\x1b[" not in r.stderr  # no terminal codes in a log file
    lines = _shown_lines(r.stderr)
    progress = [x for x in lines if re.match(r"\[\d+:\d\d\] files \d/6( \(\d decoded\))?, \d+ segments, [\d.]+ h of media", x)]
    assert len(progress) >= 2, r.stderr
    counts = [int(re.search(r"files (\d)/6", x).group(1)) for x in progress]
    assert counts == sorted(counts)  # files done only go up
    failed = [x for x in progress if "1 failed, latest: voicemail.mp3: " in x]
    assert failed, r.stderr
    stages = {s for x in progress for m in [re.search(r"slowest stage: ([\w+]+)", x)] if m for s in m.group(1).split("+")}
    assert stages and stages <= ROLES, (stages, r.stderr)  # pools are named by their roles
    assert any("ETA " in x for x in progress)
    assert "failed: " in r.stderr and "voicemail.mp3" in r.stderr  # the summary names the failure
    assert "assets seen: 6, ingested: 5, skipped: 0, failed: 1" in r.stdout, r.stdout
    every = r.stdout + r.stderr
    assert not RAY_INTERNALS.search(every), (RAY_INTERNALS.findall(every), every[-3000:])


NO_MODELS = "asr:\n  model: null\nocr:\n  model: null\ntext:\n  model: null\n"


@pytestmark_slow
def test_quiet_prints_the_summary_only_and_verbose_shows_rays_own_output(tmp_path):
    cfg = tmp_path / "nomodels.yaml"
    cfg.write_text(NO_MODELS)
    args = [sys.executable, "-m", "medialake", "ingest", str(SAMPLES), "--config", str(cfg)]
    q = subprocess.run(args + ["--db", str(tmp_path / "q"), "--quiet"], cwd=REPO, capture_output=True, text=True,
                       timeout=600, env=_env(MEDIALAKE_PROGRESS_INTERVAL="0.2"))
    assert q.returncode == 0, q.stdout + q.stderr
    assert q.stderr.strip() == "", q.stderr
    out = _shown_lines(q.stdout)
    assert out[0].startswith("assets seen: 5, ingested: 5, skipped: 0, failed: 0 ("), q.stdout
    assert len(out) == 3 and out[2].endswith("x real time)"), q.stdout  # the summary, the outcomes, the hours
    v = subprocess.run(args + ["--db", str(tmp_path / "v"), "--verbose"], cwd=REPO, capture_output=True, text=True,
                       timeout=600, env=_env())
    assert v.returncode == 0, v.stdout + v.stderr
    assert RAY_INTERNALS.search(v.stdout + v.stderr), v.stderr  # Ray's own lines are there when asked for
    assert "assets seen: 5, ingested: 5" in v.stdout
