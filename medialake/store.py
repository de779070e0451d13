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
            target = self.table(name).schema if name == "segments" else TABLES[name]
            self.table(name).add(schema.conform(table, target.with_metadata(TABLES[name].metadata)))

    def ensure_vector_columns(self, dims: dict[str, int]) -> None:
        """Add the nullable vector columns in ``dims`` (``{"image_vector": 512}``) to
        ``segments`` where missing; a column that exists with another width is an error."""
        from medialake.errors import ConfigError

        seg = self.table("segments")
        have = {f.name: f.type for f in seg.schema}
        missing = []
        for field in schema.vector_fields(dims):
            if field.name not in have:
                missing.append(field)
            elif have[field.name] != field.type:
                raise ConfigError(
                    f"segments.{field.name} in {self.uri!r} holds {have[field.name]} but the configured model "
                    f"gives {field.type}; use the model the database was built with, or a new --db")
        if missing:
            seg.add_columns(pa.schema(missing))
            self._tables.pop("segments", None)

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
