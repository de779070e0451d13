"""Small helpers over the Arrow batches that flow between stages.

Every stage reads and writes columns of one block; these are the few shapes they share:
read a column that may be absent, set a column that may be new, null payload columns no
later stage reads, build a nullable vector column, decode the PCM payload.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pyarrow as pa


def values(batch: pa.Table, name: str) -> list:
    """The Python values of column ``name``, or a None per row when the batch lacks it."""
    if name in batch.column_names:
        return batch.column(name).to_pylist()
    return [None] * batch.num_rows


def set_column(table: pa.Table, name: str, column: pa.Array) -> pa.Table:
    """``table`` with column ``name`` replaced by ``column``, or appended if it is new."""
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, column)
    return table.append_column(name, column)


def null_columns(table: pa.Table, names: Iterable[str]) -> pa.Table:
    """``table`` with the columns ``names`` set to null, types kept (absent ones ignored),
    so payloads that no later stage reads stop travelling through the object store."""
    for name in names:
        if name in table.column_names:
            i = table.column_names.index(name)
            table = table.set_column(i, table.field(i), pa.nulls(table.num_rows, table.field(i).type))
    return table


def vector_column(vectors: np.ndarray, present: np.ndarray, dim: int) -> pa.FixedSizeListArray:
    """A fixed-size-list float32 column of ``len(present)`` rows: the rows of ``vectors`` in
    order where ``present`` is true, null elsewhere."""
    full = np.zeros((len(present), dim), dtype=np.float32)
    full[present] = vectors
    values_ = pa.array(full.reshape(-1), type=pa.float32())
    return pa.FixedSizeListArray.from_arrays(values_, dim, mask=pa.array(~np.asarray(present, dtype=bool)))


def pcm(raw: bytes | None) -> np.ndarray:
    """The float32 mono PCM carried in a stream row's ``audio`` payload (empty when none)."""
    return np.frombuffer(raw, dtype=np.float32) if raw else np.zeros(0, dtype=np.float32)
