"""Model stages that survive failing inputs: Ray restarts, per-input attempts, failed rows.

:func:`medialake.pipelines.adapter.apply_step` maps each model stage over the dataset
through :class:`RetryingStage`, which wraps the stage's class:

- a batch is first run whole; a Python exception makes the actor retry it row by row,
  each row up to ``cfg.retries.attempts`` times;
- a model process that dies (segfault, ``os._exit``, out of memory) is restarted by Ray
  (``max_restarts``) and the batch retried (``max_task_retries``). A ledger in Ray's
  key-value store counts how often each batch and each row was handed to the model
  without coming back, so the retry runs row by row and a row that killed the model
  ``attempts`` times on its own is not tried again;
- a row out of attempts becomes a marker row with ``error`` set: the sink records its
  file as a failed asset with the reason, and the run completes.

An actor that runs several batches at once (a role's ``threads``) runs first tries side by
side, and a retry alone: a process death during a retry is then charged to the rows being
retried only, never to a neighbour that happened to share the process.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import pyarrow as pa

from medialake.arrow import null_columns, set_column, values


class AttemptLedger:
    """Counts, per row key, the hand-overs to a model that have not come back yet.

    The counts live in Ray's key-value store in the GCS (``ray.experimental.internal_kv``),
    under this run's prefix, not in an actor: no process of its own (an actor was a worker
    process of ~125 MiB RSS per run, and a round trip through it per batch), nothing to
    place or restart when a worker node dies, and any process of the cluster reads and
    writes them. A key is written by one task at a time (a row is in one batch, and Ray
    retries a batch only after the try before it is gone), so read-then-write is enough.
    :meth:`close` drops what is left once the run's stream is consumed."""

    NAMESPACE = "medialake-attempts"

    def __init__(self, run: str | None = None):
        import uuid

        self.prefix = f"{run or uuid.uuid4().hex}/"

    def _k(self, key: str) -> bytes:
        return (self.prefix + key).encode()

    def begin(self, keys: list[str]) -> list[int]:
        """Count one more try of each key; return the tries before this one."""
        from ray.experimental import internal_kv as kv

        before = self.peek(keys)
        for k, n in zip(keys, before):
            kv._internal_kv_put(self._k(k), str(n + 1).encode(), namespace=self.NAMESPACE)
        return before

    def peek(self, keys: list[str]) -> list[int]:
        from ray.experimental import internal_kv as kv

        if not keys:
            return []
        got = kv.internal_kv_get_gcs_client().internal_kv_multi_get([self._k(k) for k in keys],
                                                                     self.NAMESPACE.encode())
        return [int(got.get(self._k(k), b"0")) for k in keys]

    def clear(self, keys: list[str]) -> None:
        from ray.experimental import internal_kv as kv

        for k in keys:
            kv._internal_kv_del(self._k(k), namespace=self.NAMESPACE)

    def close(self) -> None:
        """Drop every count of this run (rows still counted when the stream ended)."""
        from ray.experimental import internal_kv as kv

        kv._internal_kv_del(self.prefix.encode(), del_by_prefix=True, namespace=self.NAMESPACE)

    def left(self) -> int:
        """How many keys of this run are still counted."""
        from ray.experimental import internal_kv as kv

        return len(kv._internal_kv_list(self.prefix.encode(), namespace=self.NAMESPACE))


class SharedOrAlone:
    """A lock that many holders share (first tries) or one holds alone (retries)."""

    def __init__(self):
        self._cond = threading.Condition()
        self._shared = 0
        self._alone = False
        self._waiting_alone = 0

    @contextmanager
    def shared(self):
        with self._cond:
            self._cond.wait_for(lambda: not self._alone and not self._waiting_alone)
            self._shared += 1
        try:
            yield
        finally:
            with self._cond:
                self._shared -= 1
                self._cond.notify_all()

    @contextmanager
    def alone(self):
        with self._cond:
            self._waiting_alone += 1
            self._cond.wait_for(lambda: not self._alone and not self._shared)
            self._waiting_alone -= 1
            self._alone = True
        try:
            yield
        finally:
            with self._cond:
                self._alone = False
                self._cond.notify_all()


def _keys(step: str, batch: pa.Table) -> list[str]:
    seg = values(batch, "segment_id")
    aid = values(batch, "asset_id")
    return [f"{step}:{s or a + '#marker'}" for s, a in zip(seg, aid)]


def failed_markers(rows: pa.Table, reasons: list[str]) -> pa.Table:
    """``rows`` turned into failed-asset markers (``segment_index`` -1, ``error`` set)."""
    n = rows.num_rows
    out = rows
    for name, col in (("segment_index", pa.array([-1] * n, pa.int32())),
                      ("n_segments", pa.array([0] * n, pa.int32())),
                      ("error", pa.array(reasons, pa.string()))):
        out = set_column(out, name, col)
    return out


class RetryingStage:
    """Batch callable wrapping the model stage class ``stage`` (built with ``kwargs``) with
    the retry policy above; ``role`` names it in keys and failure reasons."""

    def __init__(self, stage: type, role: str, ledger, attempts: int = 3, drop: tuple[str, ...] = (), then=None,
                 **kwargs):
        self.inner = stage(**kwargs)
        self.then = then  # applied to the output in this process (the fragment writer of the last stage)
        self.role = role
        self.ledger = ledger
        self.attempts = attempts
        self.drop = drop  # payload columns no later stage reads: nulled on the way out
        self.lock = SharedOrAlone()  # first tries side by side, retries alone (module docstring)

    def __call__(self, batch: pa.Table) -> pa.Table:
        out = self._run(batch)
        if self.drop:
            out = null_columns(out, self.drop)
        return self.then(out) if self.then is not None else out

    def _run(self, batch: pa.Table) -> pa.Table:
        keys = _keys(self.role, batch)
        batch_keys = [f"batch:{k}" for k in keys]
        before = self.ledger.begin(batch_keys)
        if max(before, default=0) == 0:  # first time here: run the batch whole
            try:
                with self.lock.shared():
                    out = self.inner(batch)
                self.ledger.clear(batch_keys)
                return out
            except Exception:  # noqa: BLE001 - retried row by row below
                pass
        with self.lock.alone():
            out = self._row_by_row(batch, keys)
        self.ledger.clear(batch_keys)
        return out

    def _row_by_row(self, batch: pa.Table, keys: list[str]) -> pa.Table:
        """Each row alone, so one bad input fails only its own file."""
        done: list[pa.Table] = []
        failed_idx: list[int] = []
        reasons: list[str] = []
        for i in range(batch.num_rows):
            used = self.ledger.begin([keys[i]])[0]  # tries that killed the process
            err, ok = None, False
            while used < self.attempts:
                try:
                    done.append(self.inner(batch.slice(i, 1)))
                    ok = True
                    break
                except Exception as e:  # noqa: BLE001 - becomes a failed row
                    used += 1
                    err = f"{type(e).__name__}: {e}"
                    if used < self.attempts:
                        self.ledger.begin([keys[i]])
            if ok:
                self.ledger.clear([keys[i]])
                continue
            failed_idx.append(i)
            reasons.append(f"model stage {self.role!r} failed on this input {self.attempts} times; "
                           + (f"last error: {err}" if err else "the model process died each time"))
        if failed_idx:
            self.ledger.clear([keys[i] for i in failed_idx])
            done.append(failed_markers(batch.take(pa.array(failed_idx)), reasons))
        return pa.concat_tables(done, promote_options="permissive") if done else batch.slice(0, 0)
