"""``medialake serve``: an HTTP API and a web page over one medialake database.

::

    from medialake.jobs.serve import create_app
    app = create_app("demo.lance")     # a FastAPI app; `medialake serve` runs it with uvicorn

Routes: ``/`` (the search page), ``GET /api/search`` (words), ``POST /api/search`` (an
uploaded image or audio file), ``GET /api/assets/{id}`` (metadata, summary, segments),
``GET /api/assets/{id}/thumbnail/{segment}`` (JPEG), ``GET /api/assets/{id}/media``
(the source file, with HTTP range requests), ``/docs`` and ``/openapi.json``.

With a token, every request must carry it: ``Authorization: Bearer TOKEN``, or
``?token=TOKEN`` (for ``<img>``/``<video>`` elements; a page opened that way also gets
a same-site cookie, so its own requests carry it).
"""

import hmac
import json
import math
import os
import shutil
import tempfile
import threading
from datetime import date, datetime
from importlib import resources
from typing import Annotated, Any, Literal

from fastapi import FastAPI, File, Form, HTTPException, Path, Query, Request, UploadFile
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from medialake.errors import NotConfiguredError, InputError, MedialakeError, ModelError
from medialake.jobs.serve_media import UploadTooLarge, bounded_audio, mime_type, resolve_media, sniff_upload, valid_id
from medialake.jobs.serve_library import add_library_routes
from medialake.jobs.serve_search import api_filters, run_search
from medialake.store import Store, sql_str

MAX_UPLOAD_BYTES = 20 << 20
MAX_QUERY_PIXELS = 40_000_000  # a query image is resized to the model's few hundred pixels anyway
MAX_QUERY_AUDIO_S = 60.0  # a longer query sound is cut to its first minute
MAX_UPLOAD_SEARCHES = 4  # upload searches at once (each decodes a file); more get 503 and Retry-After
TOKEN_ENV = "MEDIALAKE_TOKEN"
COOKIE = "medialake_token"
LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")
MediaType = Literal["video", "audio", "image"]


def web_dir() -> str:
    """The folder holding the page (index.html, app.js, style.css)."""
    return str(resources.files("medialake") / "web")


def _jsonable(v: Any) -> Any:
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, bytes):
        return None
    return v


def _json_or_none(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _not_found(what: str) -> HTTPException:
    return HTTPException(status_code=404, detail=f"{what} not found")


def _plain_columns(table) -> list[str]:
    """Columns of a table without vectors and binary blobs (what JSON can carry); lists of
    records, such as a segment's ``words`` with their times, are kept."""
    import pyarrow as pa

    keep = []
    for f in table.schema:
        t = f.type
        if pa.types.is_list(t) or pa.types.is_fixed_size_list(t) or pa.types.is_large_list(t):
            if not (pa.types.is_list(t) and pa.types.is_struct(t.value_type)):  # word timings stay
                continue
        if pa.types.is_binary(t) or pa.types.is_large_binary(t):
            continue
        keep.append(f.name)
    return keep


def create_app(db: str, token: str | None = None, *, media_roots: list[str] | None = None,
               max_upload_bytes: int = MAX_UPLOAD_BYTES, allowed_hosts: list[str] | None = None):
    """Build the FastAPI app serving database ``db``.

    ``token``: if set, every request needs it. ``media_roots``: folders media may be served
    from besides the ingested sources recorded in ``runs``. ``allowed_hosts``: Host
    headers accepted when there is no token (default: loopback names), which stops DNS
    rebinding from reaching a local server. Raises :class:`InputError` if ``db`` holds no
    medialake tables.
    """
    db = str(db)
    Store(db, create=False).table("segments")  # fail now, with the fix, if db is not a medialake database
    app = FastAPI(title="medialake", version=_version(), docs_url=None, redoc_url=None,
                  description="Search a medialake database by words, image or sound; fetch assets, "
                              "thumbnails and media.")
    _add_docs(app)
    _add_guard(app, token, None if token else set(allowed_hosts or (*LOOPBACK, "testserver")))
    _add_error_statuses(app)
    _add_page(app)
    _add_search_routes(app, db, max_upload_bytes)
    _add_asset_routes(app, db)
    _add_media_route(app, db, list(media_roots or []), os.getcwd())
    add_library_routes(app, db)
    return app


def _add_docs(app: FastAPI) -> None:
    """``/docs``: the OpenAPI page, with its scripts served from here when swagger_ui_bundle is installed."""
    try:
        import swagger_ui_bundle

        app.mount("/docs-static", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="docs-static")
        docs_js, docs_css = "/docs-static/swagger-ui-bundle.js", "/docs-static/swagger-ui.css"
    except ImportError:  # documentation assets from the CDN FastAPI defaults to
        docs_js = docs_css = None

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        extra = {"swagger_js_url": docs_js, "swagger_css_url": docs_css,
                 "swagger_favicon_url": "/docs-static/favicon-32x32.png"} if docs_js else {}
        return get_swagger_ui_html(openapi_url="/openapi.json", title="medialake API", **extra)


def _add_guard(app: FastAPI, token: str | None, hosts: set[str] | None) -> None:
    """A middleware refusing (400) Host headers outside ``hosts`` when it is given, and (401)
    requests without ``token`` when there is one; a ``?token=`` request gets the cookie."""

    @app.middleware("http")
    async def guard(request: Request, call_next):
        if hosts is not None:
            host = _hostname(request.headers.get("host") or "")
            if host not in hosts:
                return JSONResponse({"detail": f"host {host!r} is not allowed; open the page at 127.0.0.1"}, status_code=400)
        if token is None:
            return await call_next(request)
        via_query = request.query_params.get("token")
        auth = request.headers.get("authorization", "")
        given = [auth[7:].strip() if auth[:7].lower() == "bearer " else None, via_query, request.cookies.get(COOKIE)]
        if not any(g and hmac.compare_digest(g.encode(), token.encode()) for g in given):
            return JSONResponse({"detail": "a token is required: send 'Authorization: Bearer TOKEN' or add ?token=TOKEN"},
                                status_code=401, headers={"WWW-Authenticate": "Bearer"})
        response = await call_next(request)
        if via_query and hmac.compare_digest(via_query.encode(), token.encode()):
            response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response


def _add_error_statuses(app: FastAPI) -> None:
    """medialake's errors as JSON: 503 for a model that failed, 422 for a role not configured, else 400."""

    @app.exception_handler(MedialakeError)
    async def medialake_error(request: Request, exc: MedialakeError):
        status = 503 if isinstance(exc, ModelError) else 422 if isinstance(exc, NotConfiguredError) else 400
        return JSONResponse({"detail": str(exc)}, status_code=status)


def _add_page(app: FastAPI) -> None:
    """``/``: the search page, and ``/static``: its script and style."""

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(os.path.join(web_dir(), "index.html"), media_type="text/html")

    app.mount("/static", StaticFiles(directory=web_dir()), name="static")


MIN_SCORE = "drop moments scoring below this (absolute evidence 0-1; default 0.35, 0 keeps the nearest hits)"


def _add_search_routes(app: FastAPI, db: str, max_upload_bytes: int) -> None:
    """``GET /api/search`` (words) and ``POST /api/search`` (an uploaded image or sound)."""
    uploads = threading.BoundedSemaphore(MAX_UPLOAD_SEARCHES)

    @app.get("/api/search", summary="Search by words", tags=["search"])
    def search_get(
        q: Annotated[str, Query(min_length=1, max_length=2000, description="what to look for, in words")],
        type: Annotated[MediaType | None, Query(description="only this media type")] = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 10,
        path_prefix: Annotated[str | None, Query(max_length=4096, description="source uri starts with this")] = None,
        date_from: Annotated[date | None, Query(description="source file modified on or after (YYYY-MM-DD, UTC)")] = None,
        date_to: Annotated[date | None, Query(description="source file modified on or before (YYYY-MM-DD, UTC)")] = None,
        min_duration: Annotated[float | None, Query(ge=0, allow_inf_nan=False, description="seconds")] = None,
        max_duration: Annotated[float | None, Query(ge=0, allow_inf_nan=False, description="seconds")] = None,
        language: Annotated[str | None, Query(max_length=16)] = None,
        min_score: Annotated[float | None, Query(ge=0, le=1, description=MIN_SCORE)] = None,
        taken_since: Annotated[date | None, Query(description="capture time recorded in the file on or after (YYYY-MM-DD)")] = None,
        taken_until: Annotated[date | None, Query(description="capture time recorded in the file on or before (YYYY-MM-DD)")] = None,
    ) -> list[dict[str, Any]]:
        """The best moments for ``q``: the same list as ``medialake search --json``."""
        f = api_filters(type, path_prefix, date_from, date_to, min_duration, max_duration, language,
                        taken_since=taken_since, taken_until=taken_until)
        return run_search(db, q, f, limit, min_score=min_score)

    @app.post("/api/search", summary="Search by an image or audio file", tags=["search"],
              max_body_size=max_upload_bytes + (64 << 10))
    def search_post(
        file: Annotated[UploadFile, File(description="an image or audio file to search with")],
        q: Annotated[str | None, Form(max_length=2000, description="optional words to search with too")] = None,
        kind: Annotated[Literal["image", "audio"] | None, Form(description="what the file is (default: detected)")] = None,
        type: Annotated[MediaType | None, Form()] = None,
        limit: Annotated[int, Form(ge=1, le=200)] = 10,
        path_prefix: Annotated[str | None, Form(max_length=4096)] = None,
        date_from: Annotated[date | None, Form()] = None,
        date_to: Annotated[date | None, Form()] = None,
        min_duration: Annotated[float | None, Form(ge=0, allow_inf_nan=False)] = None,
        max_duration: Annotated[float | None, Form(ge=0, allow_inf_nan=False)] = None,
        language: Annotated[str | None, Form(max_length=16)] = None,
        min_score: Annotated[float | None, Form(ge=0, le=1, description=MIN_SCORE)] = None,
        taken_since: Annotated[date | None, Form()] = None,
        taken_until: Annotated[date | None, Form()] = None,
    ) -> list[dict[str, Any]]:
        """Moments like the uploaded image (or sound). 413 if it is too large (bytes, or an
        image's pixels), 415 if it is neither an image nor audio, 422 if this database cannot
        be searched by that kind, 503 while other uploads are being searched (retry). A sound
        is searched by its first minute."""
        if not uploads.acquire(blocking=False):
            raise HTTPException(503, f"{MAX_UPLOAD_SEARCHES} uploaded files are being searched; try again shortly",
                                headers={"Retry-After": "2"})
        try:
            with tempfile.TemporaryDirectory(prefix="medialake-query-") as tmp:
                path, found = _save_upload(file, kind, tmp, max_upload_bytes)
                f = api_filters(type, path_prefix, date_from, date_to, min_duration, max_duration, language,
                                taken_since=taken_since, taken_until=taken_until)
                return run_search(db, q or None, f, limit, {found: path}, min_score)
        finally:
            uploads.release()


def _save_upload(file: UploadFile, kind: str | None, tmp: str, max_upload_bytes: int) -> tuple[str, str]:
    """(path in ``tmp``, "image" or "audio") of an uploaded query file; HTTP 400 if it is
    empty, 413 if it is too large, 415 if it is not a decodable ``kind`` (image or audio)."""
    ext = os.path.splitext(file.filename or "")[1].lower()
    path = os.path.join(tmp, "query" + (ext if ext.isascii() and ext[1:].isalnum() and len(ext) <= 8 else ""))
    with open(path, "wb") as out:
        shutil.copyfileobj(file.file, out, 1 << 20)
        size = out.tell()
    if size == 0:
        raise HTTPException(400, f"the uploaded file {file.filename!r} is empty; send an image or audio file")
    if size > max_upload_bytes:
        raise HTTPException(413, f"the uploaded file is {size} bytes; the limit is {max_upload_bytes}")
    try:
        found = sniff_upload(path, MAX_QUERY_PIXELS)
    except UploadTooLarge as e:
        raise HTTPException(413, str(e)) from None
    if found is None or (kind and kind != found):
        want = kind or "an image or audio file"
        raise HTTPException(415, f"the uploaded file {file.filename!r} is not {want} that can be decoded; "
                                 "send a JPEG/PNG/WebP image or a WAV/MP3/OGG/FLAC sound")
    if found == "audio":
        try:
            path = bounded_audio(path, tmp, MAX_QUERY_AUDIO_S)
        except Exception as e:  # its first frame decoded, a later one does not
            raise HTTPException(415, f"the uploaded file {file.filename!r} cannot be decoded ({e}); "
                                     "send a WAV/MP3/OGG/FLAC sound") from None
    return path, found


def _add_asset_routes(app: FastAPI, db: str) -> None:
    """``GET /api/assets/{id}`` (metadata, summary, segments) and its segments' thumbnails."""

    @app.get("/api/assets/{asset_id}", summary="An asset: metadata, summary and segments", tags=["assets"])
    def asset(asset_id: Annotated[str, Path(max_length=200)]) -> dict[str, Any]:
        """The asset row (``summary`` included) and its segments in order, without vectors or thumbnails.
        Each segment has ``thumbnail_url`` when it has a thumbnail."""
        if not valid_id(asset_id):
            raise _not_found("asset")
        return _asset_body(Store(db, create=False), asset_id)

    @app.get("/api/assets/{asset_id}/thumbnail/{segment}", summary="A segment's thumbnail (JPEG)", tags=["assets"],
             response_class=Response, responses={200: {"content": {"image/jpeg": {}}}})
    def thumbnail(asset_id: Annotated[str, Path(max_length=200)],
                  segment: Annotated[str, Path(max_length=200, description="segment id, or its index in the asset")]):
        """The JPEG thumbnail of one segment (a segment id, or the segment's index in the asset)."""
        index = segment.isascii() and segment.isdigit() and len(segment) < 10
        if not valid_id(asset_id) or not (valid_id(segment) or index):
            raise _not_found("thumbnail")
        cond = f"segment_id = {sql_str(segment)}"
        if index:
            cond = f"({cond} OR segment_index = {int(segment)})"
        rows = (Store(db, create=False).table("segments").search()
                .where(f"asset_id = {sql_str(asset_id)} AND {cond}").select(["thumbnail"]).limit(1).to_list())
        if not rows or not rows[0]["thumbnail"]:
            raise _not_found("thumbnail")
        return Response(rows[0]["thumbnail"], media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


def _asset_body(store: Store, asset_id: str) -> dict[str, Any]:
    """The JSON of ``GET /api/assets/{asset_id}``; HTTP 404 when there is no such asset."""
    rows = store.assets(where=f"asset_id = {sql_str(asset_id)}").to_pylist()
    if not rows:
        raise _not_found("asset")
    seg = store.table("segments")
    cols = _plain_columns(seg)
    q = seg.search().where(f"asset_id = {sql_str(asset_id)}")
    segs = q.select({**{c: c for c in cols}, "has_thumbnail": "thumbnail IS NOT NULL"}).limit(None).to_list()
    segs.sort(key=lambda s: (s.get("segment_index") or 0, s.get("start_s") or 0))
    out = {k: _jsonable(v) for k, v in rows[0].items()}
    out["metadata"] = _json_or_none(out.get("metadata"))  # the file's own tags, as an object
    out["name"] = os.path.basename((out.get("uri") or "").rstrip("/"))
    out["media_url"] = f"/api/assets/{asset_id}/media"
    out["segments"] = []
    for s in segs:
        item = {k: _jsonable(v) for k, v in s.items() if k != "has_thumbnail"}
        item["thumbnail_url"] = f"/api/assets/{asset_id}/thumbnail/{s['segment_id']}" if s["has_thumbnail"] else None
        out["segments"].append(item)
    return out


def _add_media_route(app: FastAPI, db: str, roots: list[str], cwd: str) -> None:
    """``GET`` and ``HEAD /api/assets/{id}/media``: the source file, if it lies in an ingested source or ``roots``."""

    def media(asset_id: Annotated[str, Path(max_length=200)]):
        """The asset's source file, looked up by id, with ``Range: bytes=...`` support (206).
        Only local files inside an ingested source are served; anything else is 404."""
        path = resolve_media(Store(db, create=False), asset_id, roots, cwd)
        if path is None:
            raise _not_found("media")
        return FileResponse(path, media_type=mime_type(path), headers={"Cache-Control": "private, max-age=60"})

    media_path = "/api/assets/{asset_id}/media"
    app.add_api_route(media_path, media, methods=["GET"], summary="The source file", tags=["assets"],
                      response_class=Response,
                      responses={200: {"content": {"application/octet-stream": {}}}, 206: {"description": "a byte range"},
                                 404: {"description": "no such asset, or its file cannot be served"},
                                 416: {"description": "range not satisfiable"}})
    app.add_api_route(media_path, media, methods=["HEAD"], include_in_schema=False)


def _hostname(host_header: str) -> str:
    """``127.0.0.1:8000`` -> ``127.0.0.1``; ``[::1]:8000`` -> ``[::1]``."""
    if host_header.startswith("["):
        return host_header.split("]", 1)[0] + "]"
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def _version() -> str:
    from medialake import __version__

    return __version__


def check_bind(host: str, token: str | None) -> None:
    """Refuse to bind a non-loopback address without a token."""
    if host not in LOOPBACK and not token:
        raise InputError(f"binding {host!r} exposes the archive to the network; pass --token TOKEN "
                         f"(or set {TOKEN_ENV}), or bind 127.0.0.1")


def serve(db: str, host: str = "127.0.0.1", port: int = 8000, token: str | None = None, *,
          media_roots: list[str] | None = None) -> None:
    """Run the API and page with uvicorn until interrupted (what ``medialake serve`` does)."""
    from medialake.jobs.checks import existing_database, free_port

    token = token or os.environ.get(TOKEN_ENV) or None
    check_bind(host, token)
    existing_database(db)  # no database there: one line with the fix, before binding
    free_port(host, port)  # a port in use: one line, not uvicorn's traceback
    app = create_app(db, token, media_roots=media_roots, allowed_hosts=None)
    where = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    print(f"medialake: serving {db} at {where}" + ("?token=..." if token else ""), flush=True)
    import uvicorn

    uvicorn.Server(server_config(app, host, port)).run()


def server_config(app, host: str = "127.0.0.1", port: int = 8000, **deadlines: float):
    """The uvicorn configuration ``medialake serve`` runs ``app`` with: h11 with deadlines on
    requests that arrive too slowly and responses nobody reads (:mod:`medialake.jobs.serve_http`;
    ``deadlines``: its ``header_s``, ``body_idle_s``, ``write_stall_s``), keep-alive 5 s."""
    import uvicorn

    from medialake.jobs.serve_http import guarded_protocol

    return uvicorn.Config(app, host=host, port=port, log_level="warning", http=guarded_protocol(**deadlines),
                          timeout_keep_alive=5)

