"""The LanceDB database: open it, create the tables, read the asset index.

One database is one directory (or object-store URI) holding the ``assets``, ``segments``
and ``runs`` tables. Filters passed to LanceDB are built here from typed values with
:func:`sql_str`, never by pasting user text.
"""

from __future__ import annotations

from typing import Iterable

import pyarrow as pa

from medialake import schema
from medialake.errors import InputError

TABLES = {"assets": schema.ASSETS, "segments": schema.SEGMENTS, "runs": schema.RUNS}


def sql_str(value: str) -> str:
    """Quote ``value`` as an SQL string literal (single quotes doubled)."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_in(column: str, values: Iterable[str]) -> str:
    vals = ", ".join(sql_str(v) for v in values)
    return f"{column} IN ({vals})" if vals else "false"


class Store:
    def __init__(self, uri: str, create: bool = True):
        import lancedb

        self.uri = str(uri)
        try:
            self.db = lancedb.connect(self.uri)
        except Exception as e:
            raise InputError(f"cannot open database {self.uri!r}: {e}") from e
        self._tables: dict = {}
        if create:
            existing = set(self.table_names())
            for name, sch in TABLES.items():
                if name not in existing:
                    self.db.create_table(name, schema=sch, exist_ok=True)
            self.migrate()

    def table_names(self) -> list[str]:
        res = self.db.list_tables()
        return list(getattr(res, "tables", res))

    def table(self, name: str):
        if name not in self._tables:
            try:
                self._tables[name] = self.db.open_table(name)
            except (FileNotFoundError, ValueError) as e:
                raise InputError(
                    f"database {self.uri!r} has no {name!r} table; run `medialake ingest SOURCE --db {self.uri}` first"
                ) from e
        return self._tables[name]

    def assets(self, columns: list[str] | None = None, where: str | None = None) -> pa.Table:
        q = self.table("assets").search()
        if where:
            q = q.where(where)
        if columns:
            q = q.select(columns)
        return q.limit(None).to_arrow() if hasattr(q, "limit") else q.to_arrow()

    def add(self, name: str, table: pa.Table) -> None:
        if table.num_rows:
            self.table(name).add(schema.conform(table, TABLES[name]))

    def upsert_assets(self, rows: pa.Table) -> None:
        if rows.num_rows == 0:
            return
        rows = schema.conform(rows, schema.ASSETS)
        (self.table("assets").merge_insert("asset_id").when_matched_update_all()
         .when_not_matched_insert_all().execute(rows))

    def delete_segments(self, asset_ids: list[str]) -> None:
        for i in range(0, len(asset_ids), 500):
            self.table("segments").delete(sql_in("asset_id", asset_ids[i : i + 500]))

    def refresh_indexes(self) -> None:
        """Rebuild the full-text index over the combined text after a run."""
        seg = self.table("segments")
        if seg.count_rows():
            seg.create_fts_index("text", replace=True)

    # --- incremental ingestion and commit protocol (issue 6) --------------------------

    def migrate(self) -> None:
        """Add the nullable columns a newer medialake defines to tables made by an older one."""
        for name, sch in TABLES.items():
            try:
                tbl = self.table(name)
            except InputError:
                continue
            have = set(tbl.schema.names)
            missing = [f for f in sch if f.name not in have and f.nullable]
            if missing:
                tbl.add_columns(missing)
                self._tables.pop(name, None)

    def uncommitted_ids(self) -> list[str]:
        """Ids of assets whose segments must not be visible: every status but ``done``."""
        rows = self.assets(["asset_id"], where="status != 'done'")
        return rows.column("asset_id").to_pylist()

    def committed_filter(self) -> str | None:
        """SQL filter over ``segments`` that keeps only segments of committed assets.

        A run marks every asset it will write as ``pending`` before writing any of its
        segments and marks it ``done`` after the last one, so excluding the non-done
        assets hides half-written results. Returns None when nothing needs hiding.
        Combine with other filters using ``AND`` and pass ``prefilter=True``.
        """
        ids = self.uncommitted_ids()
        return f"NOT ({sql_in('asset_id', ids)})" if ids else None

    def remove_uncommitted(self, asset_ids: Iterable[str] | None = None) -> int:
        """Delete segments whose asset is not ``done`` (leftovers of a crashed run).

        With ``asset_ids``, only those assets are checked. Returns how many assets had
        leftovers removed.
        """
        seg = self.table("segments")
        if asset_ids is None:
            present = set(seg.search().select(["asset_id"]).limit(None).to_arrow().column("asset_id").to_pylist())
        else:
            present = set(asset_ids)
        if not present:
            return 0
        done = set(self.assets(["asset_id"], where="status = 'done'").column("asset_id").to_pylist())
        stale = sorted(present - done)
        self.delete_segments(stale)
        return len(stale)
