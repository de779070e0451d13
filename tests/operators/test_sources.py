"""Object-store sources: scan and decode ``s3://`` against a real S3 server (moto) on 127.0.0.1."""

import socket

import pytest

from media import make_indexed_video, make_png, make_wav
from medialake.operators.decode import decode_file
from medialake.operators.scan import scan
from medialake.operators.sources import open_input
from medialake.pipelines.config import DecodeConfig, IngestConfig


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A moto S3 server on a free local port, with a bucket of media; stopped at the end."""
    from moto.server import ThreadedMotoServer
    import pyarrow.fs as pafs

    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    env = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_EC2_METADATA_DISABLED": "true"}
    mp = pytest.MonkeyPatch()
    for k, v in env.items():
        mp.setenv(k, v)
    fs = pafs.S3FileSystem(endpoint_override=f"127.0.0.1:{port}", scheme="http", access_key="test",
                           secret_key="test", region="us-east-1", allow_bucket_creation=True)
    fs.create_dir("media")
    local = tmp_path_factory.mktemp("s3src")
    files = {"clips/v.mp4": make_indexed_video(local / "v.mp4", seconds=3, fps=10, audio_s=3.0),
             "clips/a.wav": make_wav(local / "a.wav", seconds=1.0),
             "photos/p.png": make_png(local / "p.png")}
    for key, path in files.items():
        with fs.open_output_stream(f"media/{key}") as out:
            out.write(path.read_bytes())
    yield port
    mp.undo()
    server.stop()


def test_scan_lists_the_bucket(s3):
    recs = scan("s3://media/", IngestConfig().extensions)
    assert [(r.uri, r.media_type) for r in recs] == [
        ("s3://media/clips/a.wav", "audio"), ("s3://media/clips/v.mp4", "video"), ("s3://media/photos/p.png", "image")]
    assert all(r.size > 0 for r in recs)


def test_decode_streams_from_s3(s3):
    recs = {r.media_type: r for r in scan("s3://media", IngestConfig().extensions)}
    cfg = DecodeConfig(window_s=1.0, frames_per_segment=2)
    for mt, n in (("video", 3), ("audio", 1), ("image", 1)):
        r = recs[mt]
        rows = decode_file({"asset_id": r.asset_id, "uri": r.uri, "media_type": mt, "size": r.size, "mtime": r.mtime}, cfg)
        assert len(rows) == n and all(row["error"] is None for row in rows)
    assert rows[0]["width"] == 40


def test_remote_reads_are_ranged_not_whole_file(s3):
    with open_input("s3://media/clips/v.mp4") as f:
        assert not isinstance(f, str)  # a pyarrow input file: reads byte ranges on demand
        head = f.read(12)
        assert head[4:8] == b"ftyp" and f.tell() == 12


def test_missing_object_is_a_clear_error(s3):
    from medialake.errors import DecodeError

    with pytest.raises(DecodeError, match="s3://media/nope.mp4"):
        decode_file({"asset_id": "x", "uri": "s3://media/nope.mp4", "media_type": "video", "size": 0, "mtime": None},
                    DecodeConfig())
