"""The ``medialake`` command: one entry point, a subcommand per job."""

from __future__ import annotations

import argparse
import json
import os
import sys

from medialake import __version__
from medialake.errors import MedialakeError


def _ingest(args: argparse.Namespace) -> int:
    from medialake.jobs.ingest import ingest

    summary = ingest(args.source, args.db, profile=args.profile, config_path=args.config,
                     full=args.full, address=args.address)
    for uri, reason in summary.failures.items():
        print(f"failed: {uri}: {reason}", file=sys.stderr)
    print(summary.line())
    return 0


def _fmt_time(s: float) -> str:
    m, sec = divmod(max(0.0, s), 60)
    return f"{int(m)}:{sec:04.1f}"


def _search(args: argparse.Namespace) -> int:
    from medialake.search.query import search

    moments = search(args.query, args.db, type=args.type, limit=args.limit)
    if args.json:
        print(json.dumps(moments, indent=2))
        return 0
    if not moments:
        print("no matches")
    for i, m in enumerate(moments, 1):
        span = "" if m["media_type"] == "image" else f" {_fmt_time(m['start_s'])}-{_fmt_time(m['end_s'])}"
        text = (m["text"] or "").replace("\n", " ")
        print(f"{i:2d}. {m['score']:.3f} [{m['media_type']}] {m['asset_uri']}{span}")
        if text:
            print(f"      {text[:160]}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from medialake.jobs.serve import serve

    serve(args.db, host=args.host, port=args.port, token=args.token, media_roots=args.media_root)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="medialake", description="Turn a media archive into Lance tables searchable across modalities.")
    p.add_argument("--version", action="version", version=f"medialake {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    i = sub.add_parser("ingest", help="ingest a folder or file of media into a database",
                       description="Decode, chunk, transcribe and embed every media file under SOURCE, "
                                   "writing the assets and segments tables of DB. Unchanged files are skipped.")
    i.add_argument("source", metavar="SOURCE", help="folder or file of video, audio and images")
    i.add_argument("--db", required=True, help="LanceDB database directory (created if missing)")
    i.add_argument("--profile", default=None, help="model profile (default: offline)")
    i.add_argument("--config", default=None, metavar="FILE.yaml", help="YAML config overriding the profile")
    i.add_argument("--full", action="store_true", help="re-ingest every file, changed or not")
    i.add_argument("--address", default=None, help="Ray cluster address ('auto', 'ray://host:10001'); default: local Ray")
    i.set_defaults(func=_ingest)

    s = sub.add_parser("search", help="find the moments that match a sentence",
                       description="Embed QUERY and print the best-matching moments in DB.")
    s.add_argument("query", metavar="QUERY", help="what to look for, in words")
    s.add_argument("--db", required=True, help="LanceDB database directory")
    s.add_argument("--type", choices=["video", "audio", "image"], default=None, help="only this media type")
    s.add_argument("--limit", type=int, default=10, help="how many moments (default 10)")
    s.add_argument("--json", action="store_true", help="print a JSON list of moments")
    s.set_defaults(func=_search)

    v = sub.add_parser("serve", help="search in the browser: HTTP API and web page",
                       description="Serve DB over HTTP: the search page at /, the API under /api, its "
                                   "OpenAPI documentation at /docs. Binds 127.0.0.1 unless told otherwise; "
                                   "any other address needs a token.")
    v.add_argument("--db", required=True, help="LanceDB database directory")
    v.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    v.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    v.add_argument("--token", default=None, help="require this token on every request "
                   "(default: $MEDIALAKE_TOKEN; required when --host is not loopback)")
    v.add_argument("--media-root", action="append", default=None, metavar="DIR",
                   help="also serve media under DIR (default: the ingested sources recorded in the database)")
    v.set_defaults(func=_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        return args.func(args)
    except MedialakeError as e:
        print(f"medialake: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
