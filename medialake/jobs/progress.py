"""What an ingest shows while it runs: medialake's own progress, not Ray's.

:class:`IngestProgress` follows the batches that reach the sink (the events the pipeline
already reports) and shows files done out of files to do (``3/5``), segments, hours of
media processed, throughput (times real time), an ETA, failures so far with the latest
reason, and the stage that holds the stream back now (read from Ray Data's executor by
:mod:`medialake.pipelines.monitor`). On a terminal it is a live line drawn with ``rich``;
anywhere else (cron, CI, systemd) a plain line every few seconds. ``quiet`` shows nothing;
the caller prints the summary.

    progress = IngestProgress(mode="auto")
    progress.begin(total=5, sizes={asset_id: n_bytes, ...})   # draws from here on
    for batch in stream:
        progress.batch(batch)
    progress.close()

``medialake.ingest(..., progress=progress)`` makes these calls.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

#: seconds between two plain lines (not a terminal); ``MEDIALAKE_PROGRESS_INTERVAL`` overrides
PLAIN_INTERVAL_S = 5.0


def _clock(s: float | None) -> str:
    if s is None:
        return "-"
    s = int(max(0, s))
    h, rest = divmod(s, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


@dataclass
class Tally:
    """Counts of a run so far, from the stream: a file counts once its closing row (or
    its last segment, when the count is known up front) has reached the sink.

    The stream's batches are receipts (:mod:`medialake.operators.fragments`: one row per
    asset and batch, ``written`` segments of it) or, when a plan has no fragment writer,
    plain segment rows (one per segment); both count the same."""

    total: int
    sizes: dict[str, int] = field(default_factory=dict)  # asset id -> bytes, for the ETA
    done: int = 0
    failed: int = 0
    segments: int = 0
    latest_failure: str | None = None
    expected: dict[str, int] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)
    reach: dict[str, float] = field(default_factory=dict)  # asset id -> media seconds reached (plain rows)
    duration: dict[str, float] = field(default_factory=dict)  # asset id -> its length in seconds
    finished: set[str] = field(default_factory=set)
    failed_ids: set[str] = field(default_factory=set)

    def add(self, batch: pa.Table) -> None:
        names = set(batch.column_names)
        idx = batch.column("segment_index")
        segs = batch.filter(pc.greater_equal(idx, 0))
        written = (segs.column("written").to_pylist() if "written" in names else [1] * segs.num_rows)
        written = [int(w or 0) for w in written]
        self.segments += sum(written)
        cols = [c for c in ("asset_id", "n_segments", "end_s", "duration_s", "uri", "error") if c in names]
        for row, n in zip(segs.select([c for c in cols if c not in ("error", "uri")]).to_pylist(), written):
            aid = row["asset_id"]
            self.seen[aid] = self.seen.get(aid, 0) + n
            self._length(aid, row)
            if row.get("end_s") is not None:
                self.reach[aid] = max(self.reach.get(aid, 0.0), float(row["end_s"]))
            if row.get("n_segments"):
                self.expected.setdefault(aid, int(row["n_segments"]))
        for row in batch.filter(pc.less(idx, 0)).select(cols).to_pylist():
            aid = row["asset_id"]
            self._length(aid, row)
            if row.get("error"):
                self._finish(aid, failed=True)
                name = os.path.basename(str(row.get("uri") or aid))
                self.latest_failure = f"{name}: {str(row['error']).splitlines()[0][:120]}"
            elif row.get("n_segments"):
                self.expected[aid] = int(row["n_segments"])
            else:
                self._finish(aid)
        for aid, n in list(self.expected.items()):
            if self.seen.get(aid, 0) >= n:
                self._finish(aid)

    def _length(self, aid: str, row: dict) -> None:
        if row.get("duration_s"):
            self.duration[aid] = float(row["duration_s"])

    def _finish(self, aid: str, failed: bool = False) -> None:
        if aid in self.finished:
            return
        self.finished.add(aid)
        self.expected.pop(aid, None)
        if failed:
            self.failed += 1
            self.failed_ids.add(aid)
        else:
            self.done += 1

    @property
    def media_s(self) -> float:
        """Seconds of media processed: the whole length of finished files, the share of the
        segments written so far of the others (or how far their rows reached)."""
        total = 0.0
        for aid in set(self.seen) | self.finished:
            if aid in self.failed_ids:
                continue
            length = self.duration.get(aid)
            if aid in self.finished:
                total += length if length is not None else self.reach.get(aid, 0.0)
            elif length is not None and self.expected.get(aid):
                total += length * min(1.0, self.seen.get(aid, 0) / self.expected[aid])
            else:
                total += min(self.reach.get(aid, 0.0), length) if length is not None else self.reach.get(aid, 0.0)
        return total

    def fraction(self) -> float:
        """Share of the work finished, by bytes where sizes are known, else by files."""
        total = sum(self.sizes.values())
        if total > 0:
            return min(1.0, sum(self.sizes.get(a, 0) for a in self.finished) / total)
        return (self.done + self.failed) / self.total if self.total else 1.0


class IngestProgress:
    """Live progress of one ingest, drawn on ``stream`` (stderr by default).

    ``mode``: ``auto`` (rich on a terminal, plain lines otherwise), ``rich``, ``plain`` or
    ``quiet``. ``bottleneck``: a callable returning the stage that holds the stream back now
    (a role name such as ``asr``), or None; ``decoded``: one returning how many files the
    first stage has read so far, or None (shown while files are in the models).
    """

    def __init__(self, *, mode: str = "auto", stream=None, bottleneck=None, decoded=None,
                 interval: float | None = None):
        self.tally = Tally(total=0)
        self.stream = stream or sys.stderr
        if mode == "auto":
            mode = "rich" if getattr(self.stream, "isatty", lambda: False)() and _has_rich() else "plain"
        self.mode = mode
        self.bottleneck = bottleneck or (lambda: None)
        self.decoded = decoded or (lambda: None)  # files decoded so far (read from Ray Data), or None
        self.interval = interval or float(os.environ.get("MEDIALAKE_PROGRESS_INTERVAL", PLAIN_INTERVAL_S))
        self.phase = "starting"
        self.t0 = time.monotonic()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._live = None

    # the events

    def begin(self, total: int, sizes: dict[str, int] | None = None, phase: str = "starting workers") -> None:
        """There are ``total`` files to process (``sizes``: bytes per asset id, for the ETA)."""
        self.tally = Tally(total=total, sizes=dict(sizes or {}))
        self.t0 = time.monotonic()
        self.phase = phase
        if self.mode == "rich":
            self._live = _RichLine(self)
            self._live.start()
        elif self.mode == "plain":
            self._thread = threading.Thread(target=self._plain_loop, name="medialake-progress", daemon=True)
            self._thread.start()

    def batch(self, batch: pa.Table) -> None:
        with self._lock:
            self.tally.add(batch)
            self.phase = "ingesting"

    def set_phase(self, phase: str) -> None:
        self.phase = phase

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None
            print(self.line(), file=self.stream, flush=True)  # the end state, as the last plain line
        if self._live is not None:
            self._live.stop()
            self._live = None

    # what is shown

    def fields(self) -> dict:
        """The figures of the moment, as shown (also what tests read)."""
        with self._lock:
            t = self.tally
            elapsed = time.monotonic() - self.t0
            frac = t.fraction()
            eta = elapsed * (1 - frac) / frac if 0 < frac < 1 else (0.0 if frac >= 1 else None)
            slowest, decoded = self.bottleneck(), self.decoded()
            if self.phase == "starting workers" and (slowest or decoded):
                self.phase = "working"  # the stream runs; nothing has reached the sink yet
            phase = self.phase
            return {
                "files": f"{t.done + t.failed}/{t.total}", "done": t.done, "failed": t.failed,
                "segments": t.segments, "hours": t.media_s / 3600, "elapsed": elapsed,
                "speed": t.media_s / elapsed if elapsed > 0 else 0.0, "eta": eta,
                "latest_failure": t.latest_failure, "bottleneck": slowest, "phase": phase,
                "fraction": frac, "decoded": min(decoded, t.total) if decoded is not None else None,
            }

    def line(self) -> str:
        """One plain line, e.g. ``[0:42] files 3/5, 41 segments, 0.05 h of media (4.2x real time),
        ETA 0:20, slowest stage: asr; 1 failed, latest: a.mp4: no audio or video stream``."""
        f = self.fields()
        files = f"files {f['files']}" + (f" ({f['decoded']} decoded)" if _decoded_ahead(f) else "")
        parts = [f"[{_clock(f['elapsed'])}] {files}", f"{f['segments']} segments",
                 f"{f['hours']:.2f} h of media ({f['speed']:.1f}x real time)"]
        parts.append(f"ETA {_clock(f['eta'])}" if f["eta"] is not None else f["phase"])
        if f["bottleneck"]:
            parts.append(f"slowest stage: {f['bottleneck']}")
        text = ", ".join(parts)
        if f["failed"]:
            text += f"; {f['failed']} failed, latest: {f['latest_failure']}"
        return text

    def _plain_loop(self) -> None:
        while not self._stop.wait(self.interval):
            print(self.line(), file=self.stream, flush=True)


def _decoded_ahead(f: dict) -> bool:
    """Whether more files are decoded than done: worth saying while they are in the models."""
    return f["decoded"] is not None and f["decoded"] > f["done"] + f["failed"]


def _has_rich() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


class _RichLine:
    """The live terminal view: a bar of files and a line of figures, redrawn 4 times a second."""

    def __init__(self, progress: IngestProgress):
        from rich.console import Console
        from rich.live import Live

        self.progress = progress
        self.console = Console(file=progress.stream, stderr=progress.stream is sys.stderr)
        self.live = Live(get_renderable=self.render, console=self.console, refresh_per_second=4, transient=False,
                         redirect_stdout=False, redirect_stderr=False)

    def render(self):
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        f = self.progress.fields()
        grid = Table.grid(padding=(0, 1))
        grid.add_row("[bold]ingest[/]", ProgressBar(total=1.0, completed=f["fraction"], width=28),
                     f"files [bold]{f['files']}[/]" + (f" [dim]({f['decoded']} decoded)[/]" if _decoded_ahead(f) else ""),
                     f"{f['segments']} segments",
                     f"{f['hours']:.2f} h ({f['speed']:.1f}x)",
                     f"ETA {_clock(f['eta'])}" if f["eta"] is not None else f"[dim]{f['phase']}[/]",
                     f"[dim]slowest:[/] {f['bottleneck']}" if f["bottleneck"] else "")
        if f["failed"]:
            grid.add_row("", "", f"[red]{f['failed']} failed[/]", f"latest: {f['latest_failure']}", "", "", "")
        return grid

    def start(self) -> None:
        self.live.start()

    def stop(self) -> None:
        self.live.stop()
