"""The ``medialake`` command: one entry point, a subcommand per job."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys

from medialake import __version__
from medialake.errors import MedialakeError
from medialake.jobs.checks import error_line
from medialake.uris import absolute


def _bottleneck():
    if "ray.data" not in sys.modules:  # Ray not started yet
        return None
    from medialake.pipelines.monitor import bottleneck

    return bottleneck()


def _decoded():
    if "ray.data" not in sys.modules:
        return None
    from medialake.pipelines.monitor import decoded

    return decoded()


def _ingest(args: argparse.Namespace) -> int:
    from medialake.jobs.ingest import ingest
    from medialake.jobs.progress import IngestProgress

    from medialake.jobs.terminal import DriverStderr

    mode = "quiet" if args.quiet else os.environ.get("MEDIALAKE_PROGRESS_MODE", "auto")
    with contextlib.nullcontext(sys.stderr) if args.verbose else DriverStderr() as term:
        progress = IngestProgress(mode=mode, stream=term, bottleneck=_bottleneck, decoded=_decoded)
        summary = ingest(args.source, args.db, profile=args.profile, config_path=args.config,
                         full=args.full, address=args.address, progress=progress)
    for uri, reason in summary.failures.items():
        print(f"failed: {uri}: {reason}", file=sys.stderr)
    print(summary.line())
    if summary.outcomes:
        print(summary.details())
    if summary.ingested or summary.failed:
        f = progress.fields()
        print(f"{f['hours']:.2f} h of media in {summary.seconds:.1f} s ({f['hours'] * 3600 / max(summary.seconds, 1e-9):.1f}x real time)")
    return 0


def _submit(args: argparse.Namespace) -> int:
    from medialake.jobs.submit import main_exit_code, submit

    rest = [a for a in args.args if a != "--"] if args.args[:1] == ["--"] else list(args.args)
    if not rest:
        print("medialake: error: nothing to submit; use `medialake submit --address URL -- ingest SOURCE --db DB`",
              file=sys.stderr)
        return 2
    _, status = submit(args.address, rest, wait=not args.no_wait, python=args.python)
    return main_exit_code(status) if not args.no_wait else 0


def _schedule(args: argparse.Namespace) -> int:
    from medialake.jobs.schedule import Schedule, schedule

    s = Schedule(every=args.every, source=absolute(args.source), db=absolute(args.db), address=args.address,
                 config=absolute(args.config) if args.config else None, name=args.name)
    print(schedule(s, systemd=args.systemd, kubernetes=args.kubernetes, install=args.install, output=args.output), end="")
    return 0


def _fmt_time(s: float) -> str:
    m, sec = divmod(max(0.0, s), 60)
    return f"{int(m)}:{sec:04.1f}"


def _search(args: argparse.Namespace) -> int:
    from medialake.search.config import load_search_config
    from medialake.search.query import search

    from medialake.jobs.checks import existing_database

    if not args.query and not args.image and not args.audio:
        raise MedialakeError("nothing to search for: give QUERY, --image FILE or --audio FILE")
    existing_database(args.db)
    moments = search(args.query, args.db, type=args.type, limit=args.limit, image=args.image, audio=args.audio,
                     path_prefix=args.path_prefix, since=args.since, until=args.until,
                     min_duration=args.min_duration, max_duration=args.max_duration, language=args.language,
                     taken_since=args.taken_since, taken_until=args.taken_until, min_score=args.min_score,
                     explain=args.explain, config=load_search_config(args.search_config) if args.search_config else None)
    for m in moments:
        m.pop("thumbnail", None)  # JPEG bytes: the Python API returns them
    if args.open or args.link:
        _print_link(args)
    if args.json:
        print(json.dumps(moments, indent=2))
        return 0
    if not moments:
        print("no matches")
    for i, m in enumerate(moments, 1):
        span = "" if m["media_type"] == "image" else f" {_fmt_time(m['start_s'])}-{_fmt_time(m['end_s'])}"
        text = (m.get("marked_text") or m["text"] or "").replace("\n", " ")
        print(f"{i:2d}. {m['score']:.3f} [{m['media_type']}] {m['asset_uri']}{span}")
        if text:
            print(f"      {text[:160]}")
        if args.explain:
            ex = m["explain"]
            lists = ", ".join(f"{name} #{rank}" for name, rank in sorted(ex["lists"].items(), key=lambda kv: kv[1]))
            print(f"      matched in: {lists}; words: {', '.join(ex['matched_terms']) or '-'}")
    if args.explain and moments:
        ex = moments[0]["explain"]
        if ex.get("transcript"):
            print(f"audio query transcript: {ex['transcript']}")
        for note in ex.get("notes", []):
            print(f"note: {note}")
    return 0


def page_link(base: str, query: str | None, **filters) -> str:
    """The search page's address for ``query`` and ``filters``: ``http://127.0.0.1:8000/?q=...&type=audio``."""
    from urllib.parse import urlencode

    params = {"q": query or "", **{k: v for k, v in filters.items() if v not in (None, "")}}
    return base.rstrip("/") + "/?" + urlencode(params)


def _print_link(args: argparse.Namespace) -> None:
    url = page_link(args.url, args.query, type=args.type, path_prefix=args.path_prefix,
                    date_from=args.since[:10] if args.since else None, date_to=args.until[:10] if args.until else None,
                    limit=args.limit if args.limit != 10 else None)
    print(f"open in the browser (with `medialake serve --db {args.db}` running): {url}", file=sys.stderr)
    if args.open:
        import webbrowser

        webbrowser.open(url)


def _iso_date(text: str) -> str:
    from datetime import datetime

    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date; use YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    return text


def add_search_options(s: argparse.ArgumentParser) -> None:
    """Query media, filters and --explain for the search subcommand."""
    s.add_argument("--image", metavar="FILE", default=None, help="find what looks like this image")
    s.add_argument("--audio", metavar="FILE", default=None,
                   help="find what sounds like this file, and what is said in it (speech recognition)")
    s.add_argument("--path-prefix", default=None, metavar="PREFIX", help="only assets whose path/URI starts with this")
    s.add_argument("--since", type=_iso_date, default=None, metavar="DATE", help="only source files modified on or after DATE")
    s.add_argument("--until", type=_iso_date, default=None, metavar="DATE", help="only source files modified on or before DATE")
    s.add_argument("--taken-since", type=_iso_date, default=None, metavar="DATE",
                   help="only files whose recorded capture time (EXIF, XMP, creation_time) is on or after DATE")
    s.add_argument("--taken-until", type=_iso_date, default=None, metavar="DATE",
                   help="only files whose recorded capture time is on or before DATE (inclusive)")
    s.add_argument("--min-duration", type=float, default=None, metavar="S", help="only assets at least S seconds long")
    s.add_argument("--max-duration", type=float, default=None, metavar="S", help="only assets at most S seconds long")
    s.add_argument("--language", default=None, metavar="CODE", help="only segments spoken in this language (en, de, ...)")
    s.add_argument("--min-score", type=float, default=None, metavar="X",
                   help="drop moments whose score (absolute evidence, 0-1; README: Search) is below X "
                        "(default 0.35; 0 shows the nearest hits even when nothing matches)")
    s.add_argument("--explain", action="store_true", help="show which spaces and which words matched")
    s.add_argument("--search-config", default=None, metavar="FILE.yaml",
                   help="search config: models per space, fusion weights (medialake/search/config.py)")


def _report(args: argparse.Namespace) -> int:
    from medialake.jobs.report import format_report, report

    if args.html:
        from medialake.jobs.report_html import write_report_html

        print(f"wrote {write_report_html(args.db, args.html, last_runs=args.runs)}")
        return 0
    tables = report(args.db, last_runs=args.runs)
    if args.json:
        print(json.dumps({k: v.to_dicts() for k, v in tables.items()}, indent=2, default=str))
    else:
        print(format_report(tables))
    return 0


def _doctor(args: argparse.Namespace) -> int:
    from medialake.integrity import check, repair
    from medialake.jobs.checks import existing_database
    from medialake.store import Store

    existing_database(args.db)
    damage = check(args.db, deep=True)
    for d in damage:
        print(f"damaged: {d.line()}")
    if not damage:
        print(f"{args.db}: every data file of assets, segments and runs is present and readable")
        return 0
    if not args.repair:
        print(f"put the files back from a backup, or run `medialake doctor --db {args.db} --repair`", file=sys.stderr)
        return 1
    done = repair(Store(args.db, create=False), damage)
    print(f"repaired: dropped {done['dropped_fragments']} segment fragments, restored {done['restored'] or 'nothing'}; "
          f"{done['assets_to_redo']} assets marked for the next `medialake ingest`, which redoes them")
    return 0


def _duplicates(args: argparse.Namespace) -> int:
    from medialake.search.duplicates import groups
    from medialake.store import Store

    found = groups(Store(args.db, create=False), threshold=args.threshold)
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    if not found:
        print("no near-duplicates")
    for i, group in enumerate(found, 1):
        print(f"{i:2d}. {len(group)} copies [{group[0]['media_type']}]")
        for item in group:
            print(f"      {item['distance']:.3f}  {item['asset_uri']}")
    return 0


def _serve(args: argparse.Namespace) -> int:
    from medialake.jobs.serve import serve

    serve(args.db, host=args.host, port=args.port, token=args.token, media_roots=args.media_root)
    return 0


def parser() -> argparse.ArgumentParser:
    """The ``medialake`` argument parser: a subcommand per job, each with its ``func``."""
    p = argparse.ArgumentParser(prog="medialake", description="Turn a media archive into Lance tables searchable across modalities.")
    p.add_argument("--version", action="version", version=f"medialake {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_ingest_parser, _search_parser, _duplicates_parser, _serve_parser, _submit_parser, _schedule_parser,
                _report_parser, _doctor_parser):
        add(sub)
    for command in sub.choices.values():
        command.add_argument("-v", "--verbose", action="store_true",
                             help="show Ray's own logs and progress, and a traceback on errors")
    return p


def _ingest_parser(sub) -> None:
    i = sub.add_parser("ingest", help="ingest a folder or file of media into a database",
                       description="Decode, chunk, transcribe and embed every media file under SOURCE, "
                                   "writing the assets and segments tables of DB. Unchanged files are skipped.")
    i.add_argument("source", metavar="SOURCE", help="folder or file of video, audio and images")
    i.add_argument("--db", required=True, help="LanceDB database directory (created if missing)")
    i.add_argument("--profile", default=None, help="model profile (default: offline)")
    i.add_argument("--config", default=None, metavar="FILE.yaml", help="YAML config overriding the profile")
    i.add_argument("--full", action="store_true", help="re-ingest every file, changed or not")
    i.add_argument("--address", default=None, help="Ray cluster address ('auto', 'ray://host:10001'); default: local Ray")
    i.add_argument("-q", "--quiet", action="store_true", help="no progress, only the summary")
    i.set_defaults(func=_ingest)


def _search_parser(sub) -> None:
    s = sub.add_parser("search", help="find the moments that match a sentence",
                       description="Embed QUERY and print the best-matching moments in DB.")
    s.add_argument("query", metavar="QUERY", nargs="?", default=None, help="what to look for, in words (optional with --image/--audio)")
    s.add_argument("--db", required=True, help="LanceDB database directory")
    s.add_argument("--type", choices=["video", "audio", "image"], default=None, help="only this media type")
    s.add_argument("--limit", type=int, default=10, help="how many moments (default 10)")
    s.add_argument("--json", action="store_true", help="print a JSON list of moments")
    s.add_argument("--link", action="store_true", help="also print the address of this search on the page")
    s.add_argument("--open", action="store_true", help="open this search on the page in the browser (and print its address)")
    s.add_argument("--url", default="http://127.0.0.1:8000/", help="where `medialake serve` runs (default http://127.0.0.1:8000/)")
    s.set_defaults(func=_search)
    add_search_options(s)


def _duplicates_parser(sub) -> None:
    d = sub.add_parser("duplicates", help="list groups of near-duplicate photos, videos and sounds",
                       description="Group the assets of DB that are copies of one another (re-encoded, resized, "
                                   "slightly cropped, converted), by perceptual hashes and audio fingerprints. "
                                   "Each group starts with its largest member (distance 0).")
    d.add_argument("--db", required=True, help="LanceDB database directory")
    d.add_argument("--json", action="store_true", help="print a JSON list of groups, each a list of "
                   "{asset_id, asset_uri, media_type, distance}")
    d.add_argument("--threshold", type=float, default=None, metavar="T",
                   help="distance 0-1 at or below which assets are copies (default: 0.1875, i.e. 12 of 64 hash bits, for pictures; "
                        "0.15 for sounds)")
    d.set_defaults(func=_duplicates)


def _serve_parser(sub) -> None:
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


def _submit_parser(sub) -> None:
    j = sub.add_parser("submit", help="run a medialake command on a Ray cluster as a Ray job",
                       description="Submit `medialake ARGS` to the Ray job server at --address with this medialake "
                                   "package in its runtime env, stream its logs and exit 0 if it succeeded. "
                                   "Example: medialake submit --address http://head:8265 -- ingest s3://b/media --db s3://b/lake")
    j.add_argument("--address", required=True, help="Ray dashboard / job server URL, e.g. http://HOST:8265")
    j.add_argument("--no-wait", action="store_true", help="return after submitting, without streaming logs")
    j.add_argument("--python", default="auto", help="python executable on the cluster "
                   "(default: auto, the interpreter the cluster's Ray runs)")
    j.add_argument("args", nargs=argparse.REMAINDER, metavar="-- COMMAND ...", help="the medialake command to run")
    j.set_defaults(func=_submit)


def _schedule_parser(sub) -> None:
    c = sub.add_parser("schedule", help="run an ingest every night (cron, systemd or Kubernetes)",
                       description="Print (or --install) a crontab line, a systemd service+timer (--systemd), or "
                                   "write a Kubernetes CronJob that launches a KubeRay RayJob (--kubernetes).")
    c.add_argument("--every", required=True, help="nightly, hourly, daily, weekly or a cron expression '30 1 * * *'")
    c.add_argument("--source", required=True, help="folder or URI to ingest")
    c.add_argument("--db", required=True, help="database directory or URI")
    c.add_argument("--address", default=None, help="Ray cluster address for the ingest")
    c.add_argument("--config", default=None, metavar="FILE.yaml", help="YAML config for the ingest")
    c.add_argument("--name", default="medialake-ingest", help="name of the job/units (default medialake-ingest)")
    c.add_argument("--systemd", action="store_true", help="a systemd service+timer instead of a crontab line")
    c.add_argument("--kubernetes", action="store_true", help="write a Kubernetes CronJob launching a KubeRay RayJob")
    c.add_argument("--install", action="store_true", help="install it (crontab, systemctl --user, kubectl apply)")
    c.add_argument("--output", default=None, help="where to write the units (directory) or the YAML (file)")
    c.set_defaults(func=_schedule)


def _doctor_parser(sub) -> None:
    d = sub.add_parser("doctor", help="check that every data file of a database is there and readable",
                       description="Read every fragment of the assets, segments and runs tables of DB and list "
                                   "the files that are missing, cut short or unreadable; --repair drops them "
                                   "and marks the assets they held for the next ingest.")
    d.add_argument("--db", required=True, help="LanceDB database directory")
    d.add_argument("--repair", action="store_true", help="drop the damaged fragments, mark their assets for re-ingest")
    d.set_defaults(func=_doctor)


def _report_parser(sub) -> None:
    r = sub.add_parser("report", help="summarise a database: assets, hours, segments, failures, runs",
                       description="Print assets by type and status, hours of media, segments, failures "
                                   "grouped by reason and the last runs of DB (computed with polars).")
    r.add_argument("--db", required=True, help="LanceDB database directory")
    r.add_argument("--runs", type=int, default=5, help="how many of the last runs to list (default 5)")
    r.add_argument("--json", action="store_true", help="print the tables as JSON")
    r.add_argument("--html", default=None, metavar="FILE",
                   help="write one self-contained HTML page with charts to FILE (no network needed to view it)")
    r.set_defaults(func=_report)


def main(argv: list[str] | None = None, *, watch: bool = False) -> int:
    """Run one subcommand; returns its exit status. ``watch`` (the console command): run an
    ingest in a child process whose abrupt end still gets one line (:mod:`medialake.jobs.watch`)."""
    args = parser().parse_args(argv)
    if args.verbose:
        os.environ["MEDIALAKE_VERBOSE"] = "1"
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if watch and args.func is _ingest and os.environ.get("MEDIALAKE_WATCH", "1") != "0":
        from medialake.jobs.watch import watched

        return watched(lambda: _run(args))
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("medialake: interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - one line a person can act on; --verbose adds the traceback
        if args.verbose:
            import traceback

            traceback.print_exc()
        print(f"medialake: error: {error_line(e, getattr(args, 'db', None))}", file=sys.stderr)
        return 2


def console() -> None:
    """The ``medialake`` console command."""
    sys.exit(main(watch=True))


if __name__ == "__main__":
    console()
