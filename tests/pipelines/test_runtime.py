import pytest
import ray.data

from medialake.errors import ConfigError
from medialake.pipelines.runtime import DATA_CONTEXT_DEFAULTS, tune_data_context


def test_tuning_sets_the_chosen_data_context_values():
    ctx = tune_data_context(ray.data.DataContext())
    assert ctx.max_tasks_in_flight_per_actor == DATA_CONTEXT_DEFAULTS["max_tasks_in_flight_per_actor"] == 2
    assert ctx.target_max_block_size == DATA_CONTEXT_DEFAULTS["target_max_block_size"] == 16 << 20
    assert ctx.wait_for_min_actors_s == DATA_CONTEXT_DEFAULTS["wait_for_min_actors_s"] == 1800


def test_environment_overrides_a_knob_and_rejects_junk(monkeypatch):
    monkeypatch.setenv("MEDIALAKE_MAX_TASKS_IN_FLIGHT_PER_ACTOR", "4")
    assert tune_data_context(ray.data.DataContext()).max_tasks_in_flight_per_actor == 4
    monkeypatch.setenv("MEDIALAKE_TARGET_MAX_BLOCK_SIZE", "big")
    with pytest.raises(ConfigError, match="MEDIALAKE_TARGET_MAX_BLOCK_SIZE"):
        tune_data_context(ray.data.DataContext())


def test_a_local_ray_runs_the_cluster_config_too(ray_local):
    """The local node offers ``decode`` and ``models``: cluster_config.yaml places and sizes
    its pools on a laptop as on a cluster (pools bounded by the CPUs)."""
    from pathlib import Path

    from medialake.pipelines.adapter import cluster_nodes, pool_size
    from medialake.pipelines.config import load_config

    cfg = load_config(Path(__file__).resolve().parents[2] / "cluster_config.yaml")
    nodes = cluster_nodes()
    assert len(nodes) == 1 and nodes[0]["decode"] == nodes[0]["models"] == 1.0
    for role in ("asr", "text"):
        rc = getattr(cfg, role)
        assert pool_size(rc, 0.0, nodes) == (1, int(nodes[0]["CPU"] / rc.num_cpus + 1e-9)), role

    @ray_local.remote(num_cpus=0, resources=dict(cfg.decode.resources))
    def decoded():
        return True

    assert ray_local.get(decoded.remote(), timeout=120)


def test_scheduling_loop_wait_is_set_and_overridable(monkeypatch):
    from ray.data._internal.execution import streaming_executor_state as state

    from medialake.pipelines.runtime import EXECUTOR_WAIT_S, executor_wait

    monkeypatch.setattr(state, "WAIT_FOR_TASK_COMPLETION_TIMEOUT_S", 0.1)
    assert executor_wait() == EXECUTOR_WAIT_S == state.WAIT_FOR_TASK_COMPLETION_TIMEOUT_S
    monkeypatch.setenv("MEDIALAKE_EXECUTOR_WAIT_S", "0.1")
    assert executor_wait() == state.WAIT_FOR_TASK_COMPLETION_TIMEOUT_S == 0.1
    monkeypatch.setenv("MEDIALAKE_EXECUTOR_WAIT_S", "soon")
    with pytest.raises(ConfigError, match="MEDIALAKE_EXECUTOR_WAIT_S"):
        executor_wait()



def test_the_stream_starts_once_every_pool_is_up(ray_local):
    """With ``wait_for_min_actors_s`` the first pool gets no input while a later pool still
    loads, so the first rows go through at once instead of waiting at the slow pool while
    the first one takes the CPU (the first commit of a run)."""
    import time

    import numpy as np

    class Stamp:  # defined here so that Ray pickles it by value
        def __call__(self, batch):
            batch["ran"] = np.full(len(batch["id"]), time.time())
            return batch

    class SlowStart:  # starts in 2 s, as a model load does
        def __init__(self):
            time.sleep(2.0)
            self.up = time.time()

        def __call__(self, batch):
            batch["up"] = np.full(len(batch["id"]), self.up)
            return batch

    ctx = ray.data.DataContext.get_current()
    assert ctx.wait_for_min_actors_s == DATA_CONTEXT_DEFAULTS["wait_for_min_actors_s"]
    pool = ray.data.ActorPoolStrategy(size=1)
    ds = ray.data.range(4, override_num_blocks=2)
    ds = ds.map_batches(Stamp, compute=pool, num_cpus=0.25).map_batches(SlowStart, compute=pool, num_cpus=0.25)
    rows = ds.take_all()
    assert len(rows) == 4
    assert min(r["ran"] for r in rows) >= max(r["up"] for r in rows)


def test_scheduling_loop_wait_follows_the_tasks_pace(monkeypatch):
    from types import SimpleNamespace

    from ray.data._internal.execution import streaming_executor_state as state

    from medialake.pipelines.monitor import (EXECUTOR_WAIT_MAX_S, EXECUTOR_WAIT_MIN_S, adapt_executor_wait,
                                             adaptive_wait)

    assert adaptive_wait([]) is None and adaptive_wait([None]) is None  # nothing finished: unchanged
    assert adaptive_wait([2.0, None]) == 0.5  # a quarter of the shortest mean task time
    assert adaptive_wait([8.0, 1.2]) == pytest.approx(0.3)
    assert adaptive_wait([0.05]) == EXECUTOR_WAIT_MIN_S and adaptive_wait([60.0]) == EXECUTOR_WAIT_MAX_S

    class Op:  # what adapt_executor_wait reads of a Ray Data operator
        def __init__(self, mean, inputs=True, done=False):
            self.metrics = SimpleNamespace(average_total_task_completion_time_s=mean)
            self.input_dependencies = [object()] if inputs else []
            self.has_completed = lambda: done

    op = Op

    monkeypatch.delenv("MEDIALAKE_EXECUTOR_WAIT_S", raising=False)
    monkeypatch.setattr(state, "WAIT_FOR_TASK_COMPLETION_TIMEOUT_S", 0.25)
    # the input buffer and finished operators do not count; a fast pool pulls the wait down
    topology = {op(None, inputs=False): 0, op(0.2, done=True): 0, op(2.4): 0, op(1.6): 0}
    assert adapt_executor_wait(topology) == state.WAIT_FOR_TASK_COMPLETION_TIMEOUT_S == pytest.approx(0.4)
    assert adapt_executor_wait({op(None): 0}) is None and state.WAIT_FOR_TASK_COMPLETION_TIMEOUT_S == pytest.approx(0.4)
    monkeypatch.setenv("MEDIALAKE_EXECUTOR_WAIT_S", "0.1")  # a fixed wait is left alone
    assert adapt_executor_wait(topology) is None and state.WAIT_FOR_TASK_COMPLETION_TIMEOUT_S == pytest.approx(0.4)


def test_maintenance_runs_in_a_ray_task_and_leaves_the_segments_indexed(ray_local, tmp_path):
    import os

    import pyarrow as pa

    from medialake.pipelines.runtime import maintain_on_cluster
    from medialake.store import Store, needs_maintenance

    store = Store(str(tmp_path / "db"))
    for k in range(3):  # three appends: three fragments to compact
        store.add("segments", pa.Table.from_pylist([
            {"segment_id": f"s{k}{i}", "asset_id": "a", "media_type": "audio", "modality": "audio",
             "segment_index": 10 * k + i, "start_s": float(i), "end_s": i + 1.0, "text": f"word{k} {i}"}
            for i in range(5)]))
    assert needs_maintenance(store)

    @ray_local.remote(num_cpus=0)
    def pid():
        return os.getpid()

    assert ray_local.get(pid.remote()) != os.getpid()  # tasks run in worker processes
    assert maintain_on_cluster(store) == {"text_vector": "exact", "text": "built"}
    store.forget("segments")
    assert not needs_maintenance(store)
    assert len(store.table("segments").to_lance().get_fragments()) == 1  # compacted there


def test_a_run_leaves_no_attempt_counts_and_starts_no_ledger_process(tmp_path, ray_local):
    """The attempt ledger's counts are in the GCS key-value store under the run's prefix;
    ``medialake.ingest`` drops them with the stream, so runs of a long-lived driver
    (``medialake watch``) leave nothing behind, and no actor process is started for them
    (one was, ~125 MiB RSS per run)."""
    from ray._private import state
    from ray.experimental import internal_kv as kv

    import medialake
    from media import make_wav
    from medialake.pipelines.config import load_config
    from medialake.pipelines.retry import AttemptLedger

    def keys():
        return set(kv._internal_kv_list(b"", namespace=AttemptLedger.NAMESPACE))

    before = keys()
    src = tmp_path / "src"
    src.mkdir()
    make_wav(src / "a.wav", seconds=1.0)
    (src / "broken.wav").write_bytes(b"RIFF not a wav file")
    cfg = load_config(overrides={"asr": {"model": None}, "text": {"model": None}, "ocr": {"model": None}})
    summary = medialake.ingest(src, str(tmp_path / "lake.lance"), config=cfg)
    assert summary.ingested == 1 and summary.failed == 1
    assert keys() - before == set(), "this run left attempt counts in the GCS"
    assert not [a for a in state.actors().values() if a.get("ActorClassName", "").endswith("AttemptLedger")]
