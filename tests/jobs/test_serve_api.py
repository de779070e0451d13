"""The HTTP API of `medialake serve`, with a TestClient over a hand-built database.

The database holds the real sample files with real thumbnails and MiniLM vectors (see
serve_db.py); a real ingest is exercised by test_serve_browser.py.
"""

import http.client
import io
import json

import pytest
from fastapi.testclient import TestClient
from PIL import Image

import medialake
from medialake.errors import InputError
from medialake.store import Store
from medialake.jobs.cli import main
from medialake.jobs.serve import check_bind, create_app
from medialake.search.query import search
from serve_db import hand_built, uvicorn_thread


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    return hand_built(tmp_path_factory.mktemp("serve"))


@pytest.fixture(scope="module")
def client(lake):
    with TestClient(create_app(lake.db)) as c:
        yield c


def test_search_returns_the_same_moments_as_the_cli_json(lake, client, capsys):
    r = client.get("/api/search", params={"q": "quarterly budget review", "limit": 3})
    assert r.status_code == 200
    moments = r.json()
    direct = [{k: v for k, v in m.items() if k != "thumbnail"} for m in search("quarterly budget review", lake.db, limit=3)]
    assert moments == json.loads(json.dumps(direct))
    assert main(["search", "quarterly budget review", "--db", lake.db, "--json", "--limit", "3"]) == 0
    assert moments == json.loads(capsys.readouterr().out)
    top = moments[0]
    # the matching segment is 10-20 s; search merges adjacent hits of one asset into one moment
    assert top["asset_id"] == lake.ids["cockatoo_budget.mp4"] and top["start_s"] <= 10.0 and top["end_s"] == 20.0


def test_filters_type_path_prefix_and_date(lake, client):
    def names(**params):
        r = client.get("/api/search", params={"q": "island bread lamp front left cockatoo", "limit": 20,
                                                "min_score": 0, **params})  # filters, not the cut-off
        assert r.status_code == 200, r.text
        return {m["asset_uri"].rsplit("/", 1)[-1] for m in r.json()}

    assert names(type="audio") == {"lighthouse_keeper.mp3", "front_left.oga"}
    assert names(path_prefix=str(lake.archive / "video")) == {"cockatoo_budget.mp4"}
    assert names(date_from="2025-01-01") == {"lighthouse_keeper.mp3", "front_left.oga"}
    assert names(date_from="2025-06-15", date_to="2025-06-15") == {"lighthouse_keeper.mp3"}
    assert names(min_duration=5, max_duration=18) == {"lighthouse_keeper.mp3"}
    assert names(language="en") == {"cockatoo_budget.mp4", "lighthouse_keeper.mp3", "front_left.oga"}
    assert names(language="fr") == set()
    assert names(path_prefix="' OR 1=1 --") == set()
    assert client.get("/api/search", params={"q": "x", "type": "book"}).status_code == 422
    assert client.get("/api/search", params={"q": "x", "date_from": "yesterday"}).status_code == 422
    assert client.get("/api/search", params={"q": "   "}).status_code == 400


def test_empty_filter_parameters_mean_no_filter(client):
    params = {"q": "island bread lamp front left cockatoo", "limit": 20}
    every = client.get("/api/search", params=params).json()
    assert every
    for name in ("path_prefix", "language"):
        r = client.get("/api/search", params={**params, name: ""})
        assert r.status_code == 200 and r.json() == every, name


def test_asset_has_metadata_summary_and_segments_without_vectors(lake, client):
    aid = lake.ids["cockatoo_budget.mp4"]
    body = client.get(f"/api/assets/{aid}").json()
    assert body["name"] == "cockatoo_budget.mp4" and body["media_type"] == "video" and body["size"] == 279859
    assert "quarterly budget review" in body["summary"]
    assert [s["start_s"] for s in body["segments"]] == [0.0, 10.0]
    assert body["segments"][1]["transcript"] == "The quarterly budget review starts at nine."
    assert not any(k.endswith("vector") or k == "thumbnail" for s in body["segments"] for k in s)
    thumb = client.get(body["segments"][1]["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(thumb.content)).format == "JPEG"
    assert client.get(f"/api/assets/{aid}/thumbnail/1").content == thumb.content  # by index too
    audio = client.get(f"/api/assets/{lake.ids['front_left.oga']}").json()
    assert audio["segments"][0]["thumbnail_url"] is None
    assert client.get(f"/api/assets/{lake.ids['front_left.oga']}/thumbnail/0").status_code == 404


def test_media_range_requests_return_the_exact_bytes(lake, client):
    aid = lake.ids["cockatoo_budget.mp4"]
    data = lake.path("cockatoo_budget.mp4").read_bytes()
    n = len(data)
    full = client.get(f"/api/assets/{aid}/media")
    assert full.status_code == 200 and full.content == data and full.headers["accept-ranges"] == "bytes"
    assert full.headers["content-type"] == "video/mp4"
    for header, lo, hi in [("bytes=100-199", 100, 199), ("bytes=0-0", 0, 0), (f"bytes={n - 10}-", n - 10, n - 1),
                           ("bytes=-500", n - 500, n - 1), (f"bytes=200000-{n + 5000}", 200000, n - 1)]:
        r = client.get(f"/api/assets/{aid}/media", headers={"Range": header})
        assert r.status_code == 206, header
        assert r.content == data[lo:hi + 1], header
        assert r.headers["content-range"] == f"bytes {lo}-{hi}/{n}", header
        assert int(r.headers["content-length"]) == hi - lo + 1
    r = client.get(f"/api/assets/{aid}/media", headers={"Range": f"bytes={n}-"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{n}"
    head = client.head(f"/api/assets/{aid}/media")
    assert head.status_code == 200 and int(head.headers["content-length"]) == n and head.content == b""
    oga = client.get(f"/api/assets/{lake.ids['front_left.oga']}/media", headers={"Range": "bytes=0-3"})
    assert oga.status_code == 206 and oga.content == b"OggS" and oga.headers["content-type"] == "audio/ogg"


@pytest.fixture(scope="module")
def live(lake):
    """The app on a real uvicorn server, so raw request paths reach it unnormalised."""
    with uvicorn_thread(create_app(lake.db)) as port:
        yield port


def raw_get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("GET", path, skip_accept_encoding=True)
    conn.endheaders()
    r = conn.getresponse()
    body = r.read()
    conn.close()
    return r.status, body


def test_path_escape_attempts_all_404(lake, client, live):
    aid = lake.ids["cockatoo_budget.mp4"]
    secret = str(lake.outside / "secret.txt")
    raw = [
        "/api/assets/../../../../etc/passwd/media",
        f"/api/assets/{aid}/media/../../../../../etc/passwd",
        "/api/assets/..%2F..%2F..%2Fetc%2Fpasswd/media",
        "/api/assets/%2e%2e%2f%2e%2e%2fetc%2fpasswd/media",
        "/api/assets/%2Fetc%2Fpasswd/media",
        f"/api/assets/{secret.replace('/', '%2F')}/media",
        "/api/assets/%252e%252e%252fetc%252fpasswd/media",
        f"/api/assets/{aid}%2F..%2F..%2Fetc%2Fpasswd/media",
        f"/api/assets/{aid}/thumbnail/..%2F..%2F..%2Fetc%2Fpasswd",
        f"/api/assets/{aid}/thumbnail/%2Fetc%2Fpasswd",
        "/static/../../../../etc/passwd",
        "/static/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/static/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/api/assets/0000000000000000dead/media",
        "/api/assets/ZZZ/media",
        "/api/assets/0000000000000000dead",
    ]
    for path in raw:
        status, body = raw_get(live, path)
        assert status == 404, (path, status)
        assert b"root:" not in body and b"not for the web" not in body
    for why, bad in lake.forbidden.items():
        assert client.get(f"/api/assets/{bad}/media").status_code == 404, why
        assert raw_get(live, f"/api/assets/{bad}/media")[0] == 404, why
    assert raw_get(live, f"/api/assets/{aid}/media")[0] == 200  # the same server does serve real assets


def test_token_is_required_on_every_request_when_set(lake):
    with TestClient(create_app(lake.db, token="s3cret-t0ken")) as c:
        aid = lake.ids["cockatoo_budget.mp4"]
        urls = ["/", "/static/app.js", "/docs", "/openapi.json", "/api/search?q=budget",
                f"/api/assets/{aid}", f"/api/assets/{aid}/thumbnail/0", f"/api/assets/{aid}/media"]
        for url in urls:
            r = c.get(url)
            assert r.status_code == 401, url
            assert "token" in r.json()["detail"]
            assert c.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
            assert c.get(url, headers={"Authorization": "Bearer s3cret-t0ken"}).status_code == 200, url
        assert c.post("/api/search", files={"file": ("a.png", b"x")}).status_code == 401
        r = c.get(f"/api/assets/{aid}/thumbnail/0?token=s3cret-t0ken")
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        c.cookies.clear()
        assert c.get(f"/api/assets/{aid}/media?token=nope").status_code == 401
        page = c.get("/?token=s3cret-t0ken")  # the page's own requests then carry a same-site cookie
        assert page.status_code == 200 and "samesite=strict" in page.headers["set-cookie"].lower()
        assert c.get("/api/search?q=budget").status_code == 200
        c.cookies.clear()
        assert c.get("/api/search?q=budget").status_code == 401


def test_without_a_token_only_loopback_host_names_are_served(lake, client):
    assert client.get("/api/search?q=budget", headers={"Host": "127.0.0.1:8000"}).status_code == 200
    r = client.get("/api/search?q=budget", headers={"Host": "evil.example:8000"})
    assert r.status_code == 400 and "not allowed" in r.json()["detail"]


def test_binding_beyond_loopback_needs_a_token(tmp_path, monkeypatch, capsys):
    check_bind("127.0.0.1", None)
    check_bind("0.0.0.0", "t")
    with pytest.raises(InputError, match="--token"):
        check_bind("0.0.0.0", None)
    monkeypatch.delenv("MEDIALAKE_TOKEN", raising=False)
    assert main(["serve", "--db", str(tmp_path), "--host", "0.0.0.0"]) == 2
    assert "pass --token" in capsys.readouterr().err
    assert main(["serve", "--db", str(tmp_path / "missing")]) == 2  # not a database: says so
    assert "run `medialake ingest" in capsys.readouterr().err


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


def test_uploads_bad_or_too_large_get_a_clear_4xx(lake, client):
    empty = client.post("/api/search", files={"file": ("q.png", b"", "image/png")})
    assert empty.status_code == 400 and "empty" in empty.json()["detail"]
    junk = client.post("/api/search", files={"file": ("q.jpg", b"\x00not an image" * 50, "image/jpeg")})
    assert junk.status_code == 415 and "q.jpg" in junk.json()["detail"]
    wrong = client.post("/api/search", files={"file": ("q.png", _png(), "image/png")}, data={"kind": "audio"})
    assert wrong.status_code == 415
    assert client.post("/api/search", data={"q": "x"}).status_code == 422  # no file at all
    with TestClient(create_app(lake.db, max_upload_bytes=4096)) as small:
        big = small.post("/api/search", files={"file": ("big.png", b"\x89PNG" + b"0" * 100_000, "image/png")})
        assert big.status_code == 413


@pytest.mark.parametrize("kind,name", [("image", "chelsea.jpg"), ("audio", "front_left.oga")])
def test_upload_query_searches_or_says_the_role_is_not_configured(lake, client, kind, name):
    data = lake.path(name).read_bytes()
    r = client.post("/api/search", files={"file": (name, data)}, data={"limit": "3"})
    if kind == "image" and "image_vector" not in Store(lake.db).table("segments").schema.names:
        # search takes images, but this database has no image_text space: a clear 422
        assert r.status_code == 422 and "image_text" in r.json()["detail"]
    else:
        assert r.status_code == 200 and isinstance(r.json(), list)


def test_page_and_docs_are_served_locally_without_cdn(client):
    page = client.get("/")
    assert page.status_code == 200 and 'src="static/app.js"' in page.text
    for asset, ctype in [("app.js", "javascript"), ("style.css", "text/css")]:
        r = client.get(f"/static/{asset}")
        assert r.status_code == 200 and ctype in r.headers["content-type"]
        assert "http://" not in r.text and "https://" not in r.text and "//cdn" not in r.text
    assert "http://" not in page.text and "https://" not in page.text
    docs = client.get("/docs").text
    assert "/docs-static/swagger-ui-bundle.js" in docs and "cdn" not in docs
    assert client.get("/docs-static/swagger-ui-bundle.js").status_code == 200
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/search", "/api/assets/{asset_id}", "/api/assets/{asset_id}/thumbnail/{segment}",
            "/api/assets/{asset_id}/media"} <= set(paths)
    assert {"get", "post"} <= set(paths["/api/search"])
    assert medialake.__version__ == client.get("/openapi.json").json()["info"]["version"]


def test_serve_help_describes_its_options(capsys):
    with pytest.raises(SystemExit):
        main(["serve", "--help"])
    out = capsys.readouterr().out
    assert all(o in out for o in ["--db", "--host", "--port", "--token", "--media-root"])


def test_media_of_a_relative_source_is_found_from_the_uri(tmp_path):
    import os

    import pyarrow as pa

    from medialake.jobs.serve_media import resolve_media
    from medialake.store import Store

    archive = tmp_path / "work" / "archive"
    archive.mkdir(parents=True)
    (archive / "a.wav").write_bytes(b"RIFF....")
    (tmp_path / "secret.wav").write_bytes(b"secret")
    os.symlink(tmp_path / "secret.wav", archive / "b.wav")
    store = Store(str(tmp_path / "db.lance"))
    store.upsert_assets(pa.Table.from_pylist([
        {"asset_id": "a1", "uri": str(archive / "a.wav"), "media_type": "audio", "status": "done"},
        {"asset_id": "b2", "uri": str(archive / "b.wav"), "media_type": "audio", "status": "done"}]))
    store.add("runs", pa.Table.from_pylist([{"run_id": "r", "source": "archive"}]))  # `medialake ingest archive`
    elsewhere = str(tmp_path)  # the server runs from another folder than the ingest did
    assert resolve_media(store, "a1", [], elsewhere) == str((archive / "a.wav").resolve())
    assert resolve_media(store, "b2", [], elsewhere) is None  # symlink out of the source
    assert resolve_media(store, "b2", [str(tmp_path)], elsewhere) is not None  # unless a --media-root holds it
