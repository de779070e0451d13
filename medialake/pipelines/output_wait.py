"""The driver's wait for the stream's next output: woken by the scheduling loop, not a 10 ms poll.

Ray Data's consumer (the ``iter_threaded`` thread behind ``iter_batches``) takes each output
from the last operator's queue with ``OpState.get_output_blocking``, which, while the queue
is empty, sleeps 10 ms and looks again: a hundred wake-ups a second for the whole run
(benchmarks/cluster_bench.py: about 0.8 CPU-s of the driver's 6.9). Outputs only reach
that queue in a step of the scheduling loop, which medialake paces at 0.1 to 1 s
(:func:`medialake.pipelines.monitor.adapt_executor_wait`), so looking between steps finds
nothing. :func:`install` wraps the method: while the queue is empty (and the stream neither
finished nor failed), the consumer waits until the loop's next step (:func:`stepped`,
called by :class:`~medialake.pipelines.monitor.StageMonitor` after each step) or at most
:data:`OUTPUT_WAIT_MAX_S`, counted as a waiting consumer as Ray's own loop counts it
(Ray Data relaxes the last operator's backpressure for a starving consumer); then Ray's
method takes the output. Ray Data still runs the stream: only the empty polls go.
When the state it reads is not there (a Ray release that changed it), Ray's method runs
as it is. ``MEDIALAKE_OUTPUT_WAIT=ray`` keeps Ray's 10 ms poll.
"""

from __future__ import annotations

import functools
import os
import threading

#: Longest wait between two looks at the output queue when no step wakes the consumer
#: (the end of the stream is marked after the loop's last step).
OUTPUT_WAIT_MAX_S = 0.1

_steps = threading.Condition()
_count = [0]
_NEEDS = ("_exception", "_finished", "output_queue", "_waiting_consumers_lock", "_num_waiting_consumers")


def stepped() -> None:
    """The scheduling loop finished a step (outputs may be queued): wake the waiting consumer."""
    with _steps:
        _count[0] += 1
        _steps.notify_all()


def _ready(state, output_split_idx) -> bool:
    """Whether Ray's method would return (or raise) at once: an output, the end, an error."""
    return state._exception is not None or state._finished or state.output_queue.has_next(output_split_idx)


def wait_for_output(state, output_split_idx, timeout: float = OUTPUT_WAIT_MAX_S) -> None:
    """Block until ``state`` (an ``OpState``) has an output for ``output_split_idx``, has
    finished or failed, waking at each step of the loop or every ``timeout`` seconds."""
    waiting = False
    try:
        while True:
            with _steps:
                seen = _count[0]
            if _ready(state, output_split_idx):
                return
            if not waiting:
                with state._waiting_consumers_lock:
                    state._num_waiting_consumers += 1
                waiting = True
            with _steps:
                _steps.wait_for(lambda: _count[0] != seen, timeout)
    finally:
        if waiting:
            with state._waiting_consumers_lock:
                state._num_waiting_consumers -= 1


def install() -> bool:
    """Wrap Ray Data's ``OpState.get_output_blocking`` with :func:`wait_for_output` (once).
    Returns whether the wrapper is in place."""
    from ray.data._internal.execution.streaming_executor_state import OpState

    real = OpState.get_output_blocking
    if getattr(real, "_medialake_wait", False):
        return True
    if os.environ.get("MEDIALAKE_OUTPUT_WAIT", "") == "ray":
        return False

    @functools.wraps(real)
    def get_output_blocking(self, output_split_idx=None):
        if all(hasattr(self, name) for name in _NEEDS):
            wait_for_output(self, output_split_idx)
        return real(self, output_split_idx)

    get_output_blocking._medialake_wait = True
    OpState.get_output_blocking = get_output_blocking
    return True
