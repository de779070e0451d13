"""Are the Lance files of a database all there? A check at open, and the repair.

A data file of a table can go missing (a sync tool, a hand-made cleanup, a restore that
skipped files) or be cut short or overwritten (a disk or copy gone wrong). Lance then
fails deep inside a query with ``Not found: .../data/<uuid>.lance`` or a range error.
:func:`ensure_intact` checks, for the latest version of a table, that every data file
its manifest names exists, has the size the manifest recorded and ends with Lance's
footer magic, and that every deletion file exists: one listing and a few bytes per file,
cached per table version, so search and ingest run it on every open. A damaged table
raises :class:`~medialake.errors.InputError` naming the files and the fix:
``medialake doctor --db DB --repair`` (:func:`repair`).

:func:`check` with ``deep=True`` also reads every fragment whole (``medialake doctor``),
which finds files that were overwritten in place with the same size.
"""

from __future__ import annotations

from dataclasses import dataclass

from medialake.errors import InputError

MAGIC = b"LANC"
TABLES = ("assets", "segments", "runs")

_intact: set[tuple[str, int]] = set()  # (table uri, version) found intact in this process


@dataclass(frozen=True)
class Damage:
    table: str
    fragment_id: int
    path: str
    problem: str
    rows: int

    def line(self) -> str:
        return f"{self.table}: fragment {self.fragment_id} ({self.rows} rows): {self.path}: {self.problem}"


def table_uri(db: str, name: str) -> str:
    return str(db).rstrip("/") + f"/{name}.lance"


def _fs(uri: str):
    import pyarrow.fs as pafs

    if "://" not in uri:
        return pafs.LocalFileSystem(), uri
    return pafs.FileSystem.from_uri(uri)


def _file_problem(fs, path: str, size: int | None) -> str | None:
    import pyarrow.fs as pafs

    info = fs.get_file_info(path)
    if info.type == pafs.FileType.NotFound:
        return "missing"
    if size and info.size != size:
        return f"{info.size} bytes where the manifest recorded {size} (cut short or replaced)"
    if info.size < len(MAGIC):
        return "empty"
    with fs.open_input_file(path) as f:
        if f.read_at(len(MAGIC), info.size - len(MAGIC)) != MAGIC:
            return "not a Lance file (no footer; overwritten or cut short)"
    return None


def check_table(db: str, name: str, deep: bool = False, storage_options: dict | None = None) -> list[Damage]:
    """Damaged files of the latest version of table ``name`` in database ``db``."""
    import lance

    uri = table_uri(db, name)
    ds = lance.dataset(uri, storage_options=storage_options)
    fs, root = _fs(uri)
    root = root.rstrip("/")
    out = []
    for frag in ds.get_fragments():
        meta = frag.metadata
        problem = None
        for df in frag.data_files():
            problem = _file_problem(fs, f"{root}/data/{df.path}", getattr(df, "file_size_bytes", None))
            if problem:
                out.append(Damage(name, frag.fragment_id, f"{uri}/data/{df.path}", problem, meta.physical_rows))
                break
        if problem:
            continue
        deletion = frag.deletion_file()
        if deletion:
            path = deletion if deletion.startswith(root) or "://" in deletion else f"{root}/{deletion.lstrip('/')}"
            import pyarrow.fs as pafs

            if fs.get_file_info(path).type == pafs.FileType.NotFound:
                out.append(Damage(name, frag.fragment_id, path, "deletion file missing", meta.physical_rows))
                continue
        if deep:
            try:
                for _ in frag.to_batches(batch_size=4096):
                    pass
            except Exception as e:  # noqa: BLE001 - any read error is the damage we look for
                first = (str(e).splitlines() or [""])[0][:200]
                out.append(Damage(name, frag.fragment_id, f"{uri}/data/{frag.data_files()[0].path}",
                                  f"unreadable ({first})", meta.physical_rows))
    return out


def check(db: str, tables=TABLES, deep: bool = False, storage_options: dict | None = None) -> list[Damage]:
    """Damaged files of every table in ``tables`` (those that exist)."""
    out = []
    for name in tables:
        try:
            out += check_table(db, name, deep=deep, storage_options=storage_options)
        except (FileNotFoundError, ValueError):  # no such table (yet)
            continue
    return out


def ensure_intact(db: str, tables=TABLES, storage_options: dict | None = None) -> None:
    """Raise :class:`InputError` naming the damaged files of ``tables`` and the fix.

    Checks each table's latest version once per process (a version never changes)."""
    import lance

    todo = []
    for name in tables:
        try:
            ds = lance.dataset(table_uri(db, name), storage_options=storage_options)
        except (FileNotFoundError, ValueError):
            continue
        except OSError as e:  # the manifest itself is gone or unreadable
            raise InputError(f"the {name} table of {db!r} cannot be opened ({str(e).splitlines()[0][:200]}); "
                             f"restore the database directory from a backup") from e
        if (table_uri(db, name), ds.version) not in _intact:
            todo.append((name, ds.version))
    damage = []
    for name, version in todo:
        found = check_table(db, name, storage_options=storage_options)
        damage += found
        if not found:
            _intact.add((table_uri(db, name), version))
    if damage:
        shown = "; ".join(d.line() for d in damage[:3]) + (f"; and {len(damage) - 3} more" if len(damage) > 3 else "")
        raise InputError(f"database {db!r} is damaged: {shown}. Put the files back from a backup, or run "
                         f"`medialake doctor --db {db} --repair` (drops what is lost and marks its assets "
                         f"for the next ingest, which redoes them)")


def repair(store, damage: list[Damage] | None = None) -> dict:
    """Make a damaged database whole again, losing only what the damaged files held.

    ``segments``: the damaged fragments are dropped (one Lance ``Delete`` commit) and every
    ``done`` asset that thereby lost segments is marked ``failed`` with a reason, so the
    next ingest redoes it. ``assets`` / ``runs``: the table is restored to its latest
    version whose files are all intact (Lance ``restore``; later changes to that table are
    lost and the next ingest redoes what they recorded). Returns what it did.
    """
    import lance
    import pyarrow as pa
    import pyarrow.compute as pc

    damage = check(store.uri, storage_options=store.storage_options) if damage is None else damage
    report: dict = {"dropped_fragments": 0, "assets_to_redo": 0, "restored": {}}
    for name in ("assets", "runs"):
        if not any(d.table == name for d in damage):
            continue
        ds = lance.dataset(table_uri(store.uri, name), storage_options=store.storage_options)
        for v in sorted((v["version"] for v in ds.versions()), reverse=True)[1:]:
            old = ds.checkout_version(v)
            if not _version_damage(store.uri, name, old):
                old.restore()
                report["restored"][name] = v
                store.forget(name)
                break
        else:
            raise InputError(f"no version of the {name} table of {store.uri!r} is intact; restore the database "
                             f"directory from a backup or ingest into a new --db")
    seg_ids = sorted({d.fragment_id for d in damage if d.table == "segments"})
    if seg_ids:
        uri = table_uri(store.uri, "segments")
        ds = lance.dataset(uri, storage_options=store.storage_options)
        op = lance.LanceOperation.Delete([], seg_ids, "false")
        lance.LanceDataset.commit(uri, op, read_version=ds.version, storage_options=store.storage_options)
        store.forget("segments")
        report["dropped_fragments"] = len(seg_ids)
    # every done asset must have all its segments (also after an assets restore)
    segs = store.table("segments").search().select(["asset_id"]).limit(None).to_arrow()
    have = dict(zip(*pc.value_counts(segs.column("asset_id")).flatten())) if segs.num_rows else {}
    have = {k.as_py(): v.as_py() for k, v in have.items()}
    done = store.assets(where="status = 'done'").to_pylist()
    short = [a for a in done if have.get(a["asset_id"], 0) < (a["n_segments"] or 0)]
    if short:
        for a in short:
            a.update(status="failed", reason="segments lost with a damaged data file (medialake doctor --repair); "
                                             "the next ingest redoes this file")
        store.upsert_assets(pa.Table.from_pylist(short))
    report["assets_to_redo"] = len(short)
    _intact.clear()
    return report


def _version_damage(db: str, name: str, ds) -> bool:
    fs, root = _fs(table_uri(db, name))
    for frag in ds.get_fragments():
        for df in frag.data_files():
            if _file_problem(fs, f"{root.rstrip('/')}/data/{df.path}", getattr(df, "file_size_bytes", None)):
                return True
    return False
