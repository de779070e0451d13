"""The stream's consumer waits for the scheduling loop's steps instead of polling every 10 ms
(medialake.pipelines.output_wait), counted as a waiting consumer while it waits, and still
gets every output of a stream, its end and its errors."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest


class Queue:
    """What wait_for_output reads of Ray Data's output queue."""

    def __init__(self):
        self.items = []

    def has_next(self, idx=None):
        return bool(self.items)


def _state():
    return SimpleNamespace(_exception=None, _finished=False, output_queue=Queue(),
                           _waiting_consumers_lock=threading.Lock(), _num_waiting_consumers=0)


def _until(pred):
    """Wait (on an event, no sleeps to time) until ``pred()`` holds; fail after 60 s."""
    ev = threading.Event()
    for _ in range(6000):
        if pred():
            return
        ev.wait(0.01)
    pytest.fail("condition never held")


def test_the_consumer_waits_for_a_step_and_counts_as_waiting_meanwhile():
    from medialake.pipelines.output_wait import stepped, wait_for_output

    state = _state()
    state.output_queue.items.append("ready")
    wait_for_output(state, None, timeout=60)  # an output is there: back at once, never counted
    assert state._num_waiting_consumers == 0

    state = _state()
    done = threading.Event()
    t = threading.Thread(target=lambda: (wait_for_output(state, None, timeout=60), done.set()), daemon=True)
    t.start()
    _until(lambda: state._num_waiting_consumers == 1)  # starving: Ray Data may relax backpressure
    stepped()  # a step without an output: it goes on waiting
    assert not done.wait(0.2)
    state.output_queue.items.append("bundle")
    stepped()
    assert done.wait(60)
    t.join(60)
    assert state._num_waiting_consumers == 0

    for end in ({"_finished": True}, {"_exception": RuntimeError("boom")}):  # the end and an error wake it too
        state = _state()
        t = threading.Thread(target=wait_for_output, args=(state, None, 60), daemon=True)
        t.start()
        _until(lambda: state._num_waiting_consumers == 1)
        for k, v in end.items():
            setattr(state, k, v)
        stepped()
        t.join(60)
        assert not t.is_alive() and state._num_waiting_consumers == 0


def test_a_stream_through_the_wrapped_wait_yields_every_row_and_its_errors(ray_local):
    import ray

    from ray.data._internal.execution.streaming_executor_state import OpState

    from medialake.pipelines.output_wait import install

    assert install() and getattr(OpState.get_output_blocking, "_medialake_wait", False)  # ensure_ray put it in place
    ds = ray.data.range(40, override_num_blocks=8).map_batches(lambda b: {"id": b["id"] * 2}, num_cpus=0.25)
    got = [v for batch in ds.iter_batches(batch_size=None, batch_format="pyarrow")
           for v in batch.column("id").to_pylist()]
    assert sorted(got) == [2 * i for i in range(40)]

    def fail(batch):
        raise ValueError("bad block")

    with pytest.raises(Exception, match="bad block"):
        for _ in ray.data.range(4).map_batches(fail, num_cpus=0.25).iter_batches(batch_format="pyarrow"):
            pass
