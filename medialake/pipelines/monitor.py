"""Which stage holds the stream back now, read from Ray Data's executor while it runs.

Ray Data calls the execution callbacks listed in ``DataContext.custom_execution_callback_classes``
at every scheduling step; :class:`StageMonitor` keeps, for the dataset being executed,
the operator with the most blocks waiting at its input (the one the stream waits on),
named by the roles fused into it (``decode``, ``asr``, ``text``...). :func:`bottleneck`
reads it from any thread. Reading the executor's topology is best effort: if Ray changes
it, the answer is None and nothing else is affected.
"""

from __future__ import annotations

import re
import threading

from ray.data._internal.execution.execution_callback import ExecutionCallback

_state = {"stage": None, "decoded": None}
_lock = threading.Lock()
_ROLE = re.compile(r"MapBatches\(([\w+]+)\)|Map\(([\w+]+)\)")


def stage_name(op_name: str) -> str:
    """``MapBatches(decode)->MapBatches(asr)`` -> ``decode+asr``; other names as they are."""
    roles = [a or b for a, b in _ROLE.findall(op_name)]
    return "+".join(roles) if roles else op_name


def slowest(topology) -> str | None:
    """The stage of ``topology`` (Ray Data's operator -> state map) with the most input
    blocks waiting, or, when nothing waits, the one with the most tasks running."""
    best, best_key = None, (0, 0)
    for op, state in topology.items():
        if not op.input_dependencies:  # the input buffer
            continue
        key = (state.total_enqueued_input_blocks(), op.num_active_tasks())
        if key > best_key:
            best, best_key = op, key
    return stage_name(best.name) if best is not None else None


def files_read(topology) -> int | None:
    """Input blocks (one per file) that the first stage (decode, alone or fused with the
    next model) has finished with: files decoded so far."""
    for op, state in topology.items():
        deps = op.input_dependencies
        if deps and not deps[0].input_dependencies and stage_name(op.name).startswith("decode"):
            return int(op.metrics.num_task_inputs_processed)
    return None


def decoded() -> int | None:
    """Files decoded so far in the dataset being executed (None before it starts)."""
    with _lock:
        return _state["decoded"]


def bottleneck() -> str | None:
    """The stage that held the stream back at the executor's last step (None before)."""
    with _lock:
        return _state["stage"]


def reset() -> None:
    with _lock:
        _state["stage"] = None
        _state["decoded"] = None


class StageMonitor(ExecutionCallback):
    """Keeps :func:`bottleneck` up to date; registered by :func:`install`."""

    def on_execution_step(self, executor) -> None:
        try:
            stage = slowest(executor._topology or {})
        except Exception:  # noqa: BLE001 - internals moved: show no stage rather than fail the run
            stage = None
        try:
            read = files_read(executor._topology or {})
        except Exception:  # noqa: BLE001 - same
            read = None
        with _lock:
            _state["stage"] = stage
            if read is not None:
                _state["decoded"] = max(read, _state["decoded"] or 0)

    def before_execution_starts(self, executor) -> None:
        reset()

    def after_execution_succeeds(self, executor) -> None:
        # the last outputs may still be on their way to the driver: keep the files decoded
        with _lock:
            _state["stage"] = None

    def after_execution_fails(self, executor, error: Exception) -> None:
        reset()


def install(ctx=None) -> None:
    """Register :class:`StageMonitor` with the current DataContext (once)."""
    if ctx is None:
        import ray.data

        ctx = ray.data.DataContext.get_current()
    if StageMonitor not in ctx.custom_execution_callback_classes:
        ctx.custom_execution_callback_classes.append(StageMonitor)
