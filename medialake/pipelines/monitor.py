"""Which stage holds the stream back now, read from Ray Data's executor while it runs.

Ray Data calls the execution callbacks listed in ``DataContext.custom_execution_callback_classes``
at every scheduling step; :class:`StageMonitor` keeps, for the dataset being executed,
the operator with the most blocks waiting at its input (the one the stream waits on),
named by the roles fused into it (``decode``, ``asr``, ``text``...). :func:`bottleneck`
reads it from any thread. At each step it also sets the loop's wait from the tasks' pace
(:func:`adapt_executor_wait`; it starts from :data:`medialake.pipelines.runtime.EXECUTOR_WAIT_S`).
Reading the executor's topology is best effort: if Ray changes it, the answer is None
and nothing else is affected.
"""

from __future__ import annotations

import os
import re
import threading

from ray.data._internal.execution.execution_callback import ExecutionCallback

from medialake.pipelines import output_wait

#: Bounds of the wait :func:`adapt_executor_wait` sets: Ray's own 0.1 s, and 1 s.
EXECUTOR_WAIT_MIN_S, EXECUTOR_WAIT_MAX_S = 0.1, 1.0

#: The wait is this share of the shortest mean task time (submission to completion) of the
#: running operators. ``max_tasks_in_flight_per_actor`` (2) keeps a second batch queued at
#: each actor, so an actor whose task ends idles only if the loop sleeps through the whole
#: queued task: with a wait of a quarter of the task time, it never does.
EXECUTOR_WAIT_SHARE = float(os.environ.get("MEDIALAKE_EXECUTOR_WAIT_SHARE", "0.25"))


def adaptive_wait(task_times: list[float]) -> float | None:
    """The loop's wait for operators whose mean task times are ``task_times`` (seconds):
    :data:`EXECUTOR_WAIT_SHARE` of the shortest, within :data:`EXECUTOR_WAIT_MIN_S` ..
    :data:`EXECUTOR_WAIT_MAX_S`; None before any task finished (the wait stays as it is)."""
    times = [t for t in task_times if t is not None and t > 0]
    if not times:
        return None
    return min(EXECUTOR_WAIT_MAX_S, max(EXECUTOR_WAIT_MIN_S, EXECUTOR_WAIT_SHARE * min(times)))


def adapt_executor_wait(topology) -> float | None:
    """Set the scheduling loop's wait from the pace of the running operators of
    ``topology`` (Ray Data's operator -> state map), as :func:`adaptive_wait` says, read
    from Ray Data's own metric (``average_total_task_completion_time_s``). Called at each
    step by :class:`StageMonitor`. Nothing is changed when
    ``MEDIALAKE_EXECUTOR_WAIT_S`` fixes the wait. Returns the wait set (None: unchanged)."""
    if os.environ.get("MEDIALAKE_EXECUTOR_WAIT_S") is not None:
        return None
    times = [op.metrics.average_total_task_completion_time_s for op in topology
             if op.input_dependencies and not op.has_completed()]
    wait = adaptive_wait(times)
    from ray.data._internal.execution import streaming_executor_state as state

    if wait is not None and hasattr(state, "WAIT_FOR_TASK_COMPLETION_TIMEOUT_S"):
        state.WAIT_FOR_TASK_COMPLETION_TIMEOUT_S = wait
    return wait


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
        try:
            adapt_executor_wait(executor._topology or {})  # the loop's wait from the tasks' pace
        except Exception:  # noqa: BLE001 - same: the wait then stays as it is
            pass
        with _lock:
            _state["stage"] = stage
            if read is not None:
                _state["decoded"] = max(read, _state["decoded"] or 0)
        output_wait.stepped()  # outputs of this step are queued: wake the stream's consumer

    def before_execution_starts(self, executor) -> None:
        reset()

    def after_execution_succeeds(self, executor) -> None:
        # the last outputs may still be on their way to the driver: keep the files decoded
        with _lock:
            _state["stage"] = None
        output_wait.stepped()

    def after_execution_fails(self, executor, error: Exception) -> None:
        reset()
        output_wait.stepped()


def install(ctx=None) -> None:
    """Register :class:`StageMonitor` with the current DataContext (once), and let the
    stream's consumer wait for the loop's steps (:func:`medialake.pipelines.output_wait.install`)."""
    output_wait.install()
    if ctx is None:
        import ray.data

        ctx = ray.data.DataContext.get_current()
    if StageMonitor not in ctx.custom_execution_callback_classes:
        ctx.custom_execution_callback_classes.append(StageMonitor)
