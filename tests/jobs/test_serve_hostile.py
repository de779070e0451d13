"""`medialake serve` against hostile clients, on a real uvicorn over loopback sockets.

Slow clients (a connection that sends nothing, headers a byte at a time, an upload that
stalls, a client that never reads its response) are dropped by the server's deadlines
(medialake/jobs/serve_http.py, set short here) while other clients are served; hostile
uploads (a PNG declaring gigapixels, a Content-Length far over the limit, a truncated
multipart body, hours of compressed silence) get a 4xx, never a 5xx.
"""

import http.client
import io
import socket
import struct
import time
import zlib

import av
import numpy as np
import pyarrow as pa
import pytest

from medialake.jobs.serve import MAX_QUERY_AUDIO_S, create_app
from medialake.jobs.serve_media import UploadTooLarge, bounded_audio, sniff_upload
from medialake.operators.scan import asset_id_for
from medialake.store import Store
from serve_db import hand_built, uvicorn_thread

DEADLINE_S = 0.5  # the server's deadlines in these tests (10/30/60 s in `medialake serve`)


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    return hand_built(tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def port(lake):
    with uvicorn_thread(create_app(lake.db, max_upload_bytes=1 << 20), header_s=DEADLINE_S,
                        body_idle_s=DEADLINE_S, write_stall_s=DEADLINE_S) as p:
        yield p


def connect(port: int, rcvbuf: int | None = None) -> socket.socket:
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    s.settimeout(20)
    return s


def closed_by_server(s: socket.socket) -> bool:
    """True when the server closes the connection (EOF or reset) before the 20 s socket timeout."""
    try:
        while s.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def search_ok(port: int) -> bool:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    c.request("GET", "/api/search?q=budget")
    r = c.getresponse()
    r.read()
    c.close()
    return r.status == 200


def test_a_connection_that_sends_nothing_is_dropped(port):
    s = connect(port)
    assert closed_by_server(s)


def test_headers_trickling_in_are_dropped_while_others_are_served(port):
    s = connect(port)
    s.sendall(b"GET /api/search?q=budget HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    dropped = False
    for _ in range(40):  # a header line every 0.1 s, never the blank line that ends them
        try:
            s.sendall(b"X-a: b\r\n")
        except (BrokenPipeError, ConnectionResetError):
            dropped = True
            break
        assert search_ok(port) if _ % 10 == 0 else True
        time.sleep(0.1)
    assert dropped or closed_by_server(s)


def test_a_second_request_trickling_in_on_a_kept_alive_connection_is_dropped(port):
    s = connect(port)
    s.sendall(b"GET /api/search?q=budget HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    first = s.recv(65536)
    assert first.startswith(b"HTTP/1.1 200")
    s.sendall(b"GET /api/search?q=budget HTTP/1.1\r\n")  # and then nothing
    assert closed_by_server(s)


def test_an_upload_that_stalls_is_dropped(port):
    s = connect(port)
    s.sendall(b"POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=xx\r\n"
              b"Content-Length: 500000\r\n\r\n--xx\r\nContent-Disposition: form-data; name=\"file\"; "
              b"filename=\"a.png\"\r\n\r\n" + b"\x89PNG" + b"0" * 1000)
    assert closed_by_server(s)
    assert search_ok(port)


def test_a_client_that_does_not_read_its_response_is_dropped(lake, port):
    big = lake.archive / "video" / "long.mp4"  # 64 MiB (sparse): far more than loopback socket buffers hold
    with open(big, "wb") as f:
        f.truncate(64 << 20)
    aid = asset_id_for(str(big))
    Store(lake.db).upsert_assets(pa.Table.from_pylist(
        [{"asset_id": aid, "uri": str(big), "media_type": "video", "status": "done", "n_segments": 0}]))
    s = connect(port, rcvbuf=4096)
    s.sendall(f"GET /api/assets/{aid}/media HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    time.sleep(DEADLINE_S * 6)  # not reading: the server's writes stall, then it gives up
    got = 0
    try:
        while chunk := s.recv(1 << 20):
            got += len(chunk)
    except (ConnectionResetError, socket.timeout):
        pass
    assert 0 < got < 64 << 20  # cut off, not served whole
    assert search_ok(port)


def _png_header_only(width: int, height: int) -> bytes:
    """A valid PNG signature and IHDR declaring ``width`` x ``height``, with one small IDAT."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + chunk(b"IEND", b"")


@pytest.mark.parametrize("size", [(100_000, 100_000), (9_000, 9_000)])
def test_a_decompression_bomb_png_is_refused_with_413(port, size):
    body = _png_header_only(*size)
    assert len(body) < 200
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    boundary = "bomb"
    form = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"bomb.png\"\r\n"
            f"Content-Type: image/png\r\n\r\n").encode() + body + f"\r\n--{boundary}--\r\n".encode()
    c.request("POST", "/api/search", body=form, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    r = c.getresponse()
    text = r.read().decode()
    assert r.status == 413 and "pixels" in text, text


def test_a_declared_length_over_the_limit_is_refused_before_the_body(port):
    s = connect(port)
    s.sendall(b"POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=xx\r\n"
              b"Content-Length: 10000000000\r\n\r\n--xx\r\n")  # 10 GB declared, 6 bytes sent
    answer = s.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


@pytest.mark.parametrize("cut", ["no closing boundary", "half a part header", "short of its length"])
def test_a_truncated_multipart_body_gets_a_4xx_or_is_dropped(port, cut):
    head = b"--xx\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n" + b"\x89PNG" + b"0" * 100
    body = {"no closing boundary": head, "half a part header": b"--xx\r\nContent-Disposition: form-da",
            "short of its length": head}[cut]
    length = len(body) + (5000 if cut == "short of its length" else 0)
    s = connect(port)
    s.sendall(b"POST /api/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=xx\r\n"
              + f"Content-Length: {length}\r\n\r\n".encode() + body)
    answer = b""
    try:
        while chunk := s.recv(65536):
            answer += chunk
    except (ConnectionResetError, socket.timeout):
        pass
    if cut == "short of its length":  # the rest never comes: dropped by the body deadline, no answer
        assert answer == b""
    else:
        assert answer[:12] in (b"HTTP/1.1 400", b"HTTP/1.1 422"), answer[:300]
    assert search_ok(port)


def test_upload_pixel_guard_reads_only_the_header(tmp_path):
    p = tmp_path / "bomb.png"
    p.write_bytes(_png_header_only(50_000, 50_000))
    with pytest.raises(UploadTooLarge, match="pixels"):
        sniff_upload(str(p))


def test_a_long_query_sound_is_cut_to_its_first_minute(tmp_path):
    sr = 8000
    p = tmp_path / "silence.flac"
    with av.open(str(p), "w") as c:  # 30 minutes of near-silence: a few hundred kB of FLAC
        s = c.add_stream("flac", rate=sr, layout="mono")
        block = np.zeros((1, sr * 10), np.int16)
        block[0, ::97] = 1
        for i in range(180):
            f = av.AudioFrame.from_ndarray(block, format="s16", layout="mono")
            f.sample_rate, f.pts = sr, i * block.shape[1]
            for pkt in s.encode(f):
                c.mux(pkt)
        for pkt in s.encode(None):
            c.mux(pkt)
    assert p.stat().st_size < 3 << 20
    assert sniff_upload(str(p)) == "audio"
    cut = bounded_audio(str(p), str(tmp_path), MAX_QUERY_AUDIO_S)
    with av.open(cut) as c:
        seconds = sum(f.samples for f in c.decode(audio=0)) / sr
    assert seconds == pytest.approx(MAX_QUERY_AUDIO_S, abs=0.5)
    short = tmp_path / "short.flac"
    short.write_bytes(p.read_bytes())
    assert bounded_audio(str(p), str(tmp_path), 4000.0) == str(p)  # within the limit: the file itself


def test_medialake_serve_runs_uvicorn_with_the_deadlines(lake, monkeypatch):
    import uvicorn

    from medialake.jobs.serve import serve
    from medialake.jobs.serve_http import HEADER_S, _Guarded

    seen = {}
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, *a, **k: seen.setdefault("config", self.config))
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    free = s.getsockname()[1]
    s.close()
    serve(lake.db, port=free)
    config = seen["config"]
    assert config.port == free and issubclass(config.http, _Guarded) and config.http.header_s == HEADER_S
