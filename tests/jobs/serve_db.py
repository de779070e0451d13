"""Databases for the serve tests.

``hand_built(tmp)``: the samples copied into an archive folder and their tables written
directly with the Store API (real thumbnails from the files, real MiniLM vectors of the
spoken sentences), plus assets that must never be served: a symlink out of the archive,
an object-store URI, a stored path with ``..``, ``/etc/passwd``. Fast: no Ray, no ASR.

``ingested(tmp_factory)``: the sample video and photos through the real
``medialake.ingest`` (Ray, ASR), once per test session, shared by every module that asks.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pyarrow as pa

from medialake.operators.decode import segment_id_for
from medialake.operators.scan import asset_id_for

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"

# (relative path, media type, duration, mtime, [(start, end, transcript)])
ASSETS = [
    ("video/cockatoo_budget.mp4", "video", 20.0, datetime(2024, 3, 1, 12, tzinfo=timezone.utc),
     [(0.0, 10.0, "Here is a cockatoo sitting on a wooden perch."),
      (10.0, 20.0, "The quarterly budget review starts at nine.")]),
    ("audio/lighthouse_keeper.mp3", "audio", 17.0, datetime(2025, 6, 15, 8, tzinfo=timezone.utc),
     [(0.0, 10.0, "The lighthouse keeper climbed the stairs every evening to light the lamp."),
      (10.0, 17.0, "Fresh bread was delivered to the island every Tuesday morning.")]),
    ("audio/front_left.oga", "audio", 1.2, datetime(2025, 7, 1, 8, tzinfo=timezone.utc),
     [(0.0, 1.2, "Front left.")]),
    ("images/chelsea.jpg", "image", 0.0, datetime(2023, 1, 5, 8, tzinfo=timezone.utc), [(0.0, 0.0, None)]),
]


@dataclass
class Lake:
    db: str
    archive: Path
    outside: Path
    ids: dict[str, str] = field(default_factory=dict)  # name -> asset id
    forbidden: dict[str, str] = field(default_factory=dict)  # why -> asset id that must 404

    def path(self, name: str) -> Path:
        return next(p for p in self.archive.rglob(name))


def _thumb(path: Path, media_type: str, t: float) -> bytes | None:
    from PIL import Image

    from medialake.operators.image import jpeg_thumbnail
    from medialake.operators.video import frame_at

    if media_type == "image":
        with Image.open(path) as im:
            return jpeg_thumbnail(im.convert("RGB"), 256, 80)
    if media_type == "video":
        import av

        with av.open(str(path)) as c:
            return jpeg_thumbnail(frame_at(c, t + 1.0), 256, 80)
    return None


def hand_built(tmp: Path) -> Lake:
    from medialake.models.text import TextEncoder
    from medialake.store import Store

    archive, outside = tmp / "archive", tmp / "outside"
    shutil.copytree(SAMPLES, archive)
    outside.mkdir()
    (outside / "secret.txt").write_text("not for the web\n")
    shutil.copy(SAMPLES / "video" / "cockatoo_budget.mp4", outside / "secret.mp4")
    os.symlink(outside / "secret.mp4", archive / "video" / "escape.mp4")
    lake = Lake(db=str(tmp / "lake.lance"), archive=archive, outside=outside)
    store = Store(lake.db)
    enc = TextEncoder.shared()
    assets, segs = [], []
    for rel, mt, dur, mtime, parts in ASSETS:
        uri = str(archive / rel)
        aid = asset_id_for(uri)
        lake.ids[Path(rel).name] = aid
        assets.append(dict(asset_id=aid, uri=uri, media_type=mt, size=os.path.getsize(uri), mtime=mtime,
                           duration_s=dur, status="done", n_segments=len(parts),
                           summary=" ".join(p[2] for p in parts if p[2]) or None, config_hash="test"))
        texts = [p[2] for p in parts]
        vecs = enc.encode([t for t in texts if t]) if any(texts) else None
        k = 0
        for i, (start, end, text) in enumerate(parts):
            vec = None
            if text:
                vec, k = vecs[k].tolist(), k + 1
            segs.append(dict(segment_id=segment_id_for(aid, i, start), asset_id=aid, media_type=mt, modality=mt,
                             segment_index=i, start_s=start, end_s=end, thumbnail=_thumb(archive / rel, mt, start),
                             transcript=text, language="en" if text else None, text=text, text_vector=vec))
    bad = {
        "symlink out of the source": str(archive / "video" / "escape.mp4"),
        "object store": "s3://bucket/video/remote.mp4",
        "dot-dot in the stored path": str(archive / "video" / ".." / ".." / "outside" / "secret.mp4"),
        "outside every source": "/etc/passwd",
        "file gone": str(archive / "video" / "deleted.mp4"),
    }
    for why, uri in bad.items():
        aid = asset_id_for(uri)
        lake.forbidden[why] = aid
        assets.append(dict(asset_id=aid, uri=uri, media_type="video", status="done", n_segments=0))
    store.upsert_assets(pa.Table.from_pylist(assets))
    store.add("segments", pa.Table.from_pylist(segs))
    store.add("runs", pa.Table.from_pylist([{"run_id": "r1", "source": str(archive), "seen": len(assets)}]))
    store.refresh_indexes()
    return lake


_INGESTED: dict[str, Lake] = {}


def ingested(tmp_path_factory) -> Lake:
    """The samples ingested for real (needs the ``ray_local`` fixture); once per session."""
    if "lake" not in _INGESTED:
        import medialake

        tmp = tmp_path_factory.mktemp("served")
        archive = tmp / "archive"
        # The video (speech at 1 s and 10.2 s) and the photos: little ASR work, every tile kind but audio.
        for sub in ("video", "images"):
            shutil.copytree(SAMPLES / sub, archive / sub)
        db = str(tmp / "lake.lance")
        # the demo's config (samples/demo.yaml): tiny.en hears the samples' synthetic voice
        summary = medialake.ingest(archive, db, config_path=SAMPLES / "demo.yaml")
        assert summary.failed == 0, summary.failures
        lake = Lake(db=db, archive=archive, outside=tmp)
        lake.ids = {Path(p).name: asset_id_for(str(p)) for p in archive.rglob("*.*") if p.name != "NOTICE"}
        _INGESTED["lake"] = lake
    return _INGESTED["lake"]


@contextlib.contextmanager
def uvicorn_thread(app, start_timeout_s: float = 30.0, **deadlines: float):
    """Serve ``app`` with a real uvicorn on a free 127.0.0.1 port in a thread, configured as
    ``medialake serve`` does (``deadlines``: see :func:`medialake.jobs.serve.server_config`);
    yields the port."""
    import socket

    import uvicorn

    from medialake.jobs.serve import server_config

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = uvicorn.Server(server_config(app, "127.0.0.1", port, **deadlines))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.time() + start_timeout_s
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield port
    finally:
        server.should_exit = True
        t.join(10)
