"""A model that raises or kills its process on chosen inputs: Ray retries, the file fails, the run ends."""

import pyarrow as pa
import pytest

import flaky_models
from medialake.operators.decode import to_stream_table
from medialake.operators.sink import LanceSink
from medialake.pipelines.config import IngestConfig, RetryConfig, RoleConfig
from medialake.pipelines.adapter import Step, apply_step
from medialake.pipelines.retry import AttemptLedger, failed_markers
from medialake.store import Store

pytestmark = pytest.mark.slow

@pytest.fixture(autouse=True)
def _ship_test_module(ray_local):
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(flaky_models)  # Ray workers cannot import tests/
    yield
    cloudpickle.unregister_pickle_by_value(flaky_models)

URIS = ["a.wav", "b.wav", "poison.wav", "c.wav", "once.wav", "d.wav", "bad.wav", "e.wav"]


def _rows():
    return to_stream_table([
        {"asset_id": u.split(".")[0], "uri": u, "media_type": "audio", "size": 10, "n_segments": 1,
         "segment_id": f"s-{u}", "segment_index": 0, "modality": "audio", "start_s": 0.0, "end_s": 1.0}
        for u in URIS])


@pytest.mark.parametrize("threads", [1, 2])
def test_dying_and_raising_inputs_become_failed_rows_and_the_run_completes(ray_local, tmp_path, threads):
    """With ``threads: 2`` both blocks run in one process at once, so a death takes the
    other block with it; retries run alone, so only the poisoned row is charged."""
    ray = ray_local
    cfg = IngestConfig(retries=RetryConfig(attempts=2))
    role = RoleConfig[flaky_models.FlakyOptions](model="flaky", batch_size=4, num_cpus=0.25, threads=threads,
                                                 options={"marker_dir": str(tmp_path)})
    step = Step("flaky", flaky_models.Flaky, role)
    ds = ray.data.from_arrow([_rows().slice(0, 4), _rows().slice(4, 4)])
    out = pa.concat_tables(list(apply_step(ds, step, cfg).iter_batches(batch_size=None, batch_format="pyarrow")),
                           promote_options="permissive").to_pylist()
    by_uri = {r["uri"]: r for r in out}
    assert sorted(by_uri) == sorted(URIS) and len(out) == len(URIS)  # every row comes back once
    assert by_uri["poison.wav"]["segment_index"] == -1
    assert "failed on this input 2 times" in by_uri["poison.wav"]["error"] and "died" in by_uri["poison.wav"]["error"]
    assert "ValueError: cannot handle bad.wav" in by_uri["bad.wav"]["error"]
    assert (tmp_path / "died-once").exists()  # the actor really died on once.wav ...
    assert by_uri["once.wav"]["error"] is None and by_uri["once.wav"]["out"].startswith("ok")  # ... and Ray retried it
    for u in ("a.wav", "b.wav", "c.wav", "d.wav", "e.wav"):
        assert by_uri[u]["error"] is None and by_uri[u]["out"].startswith("ok")

    store = Store(str(tmp_path / "lake.lance"))
    sink = LanceSink(store, config_hash="v")
    sink.write(to_stream_table(out))
    counts = sink.close()
    assert counts.failed == 2 and counts.done == 6
    assets = {a["uri"]: a for a in store.assets().to_pylist()}
    assert assets["poison.wav"]["status"] == "failed" and assets["bad.wav"]["reason"].startswith("model stage 'flaky'")


def test_the_ledger_counts_in_the_gcs_per_run_and_markers():
    led, other = AttemptLedger(), AttemptLedger()
    assert led.begin(["k1", "k2"]) == [0, 0] and led.begin(["k1"]) == [1]
    assert other.peek(["k1"]) == [0]  # runs do not see each other's counts
    led.clear(["k1"])
    assert led.peek(["k1", "k2"]) == [0, 1] and led.left() == 1
    led.close()
    assert led.peek(["k2"]) == [0] and led.left() == 0
    m = failed_markers(_rows().slice(0, 2), ["r1", "r2"]).to_pylist()
    assert [r["segment_index"] for r in m] == [-1, -1] and [r["error"] for r in m] == ["r1", "r2"]


def test_a_file_that_kept_killing_its_decode_worker_becomes_a_failed_row(ray_local, tmp_path):
    """The decode task's side of the ledger: a file whose earlier tries never came back (the
    worker died in a codec) is not decoded again once out of attempts, and becomes a failed row
    naming why; the other files decode, and their tries are cleared."""
    from functools import partial

    from media import make_wav
    from medialake import schema
    from medialake.operators.config import DecodeConfig
    from medialake.pipelines.adapter import new_ledger
    from medialake.pipelines.plan import decode, records_table

    ray = ray_local
    recs = []
    for name in ("good", "crasher"):
        make_wav(tmp_path / f"{name}.wav", seconds=1.0, sr=8000, channels=1)
        recs.append({"asset_id": name, "uri": str(tmp_path / f"{name}.wav"), "media_type": "audio",
                     "size": (tmp_path / f"{name}.wav").stat().st_size, "mtime": 0.0})
    ledger = new_ledger()
    for _ in range(2):  # two tries of "crasher" that never came back
        ledger.begin(["decode:crasher"])
    from types import SimpleNamespace

    table = records_table([SimpleNamespace(**{n: r.get(n) for n in schema.RECORD.names}) for r in recs])
    ds = ray.data.from_blocks([table.slice(i, 1) for i in range(table.num_rows)]).map_batches(
        partial(decode, cfg=DecodeConfig(window_s=0.5), ledger=ledger, attempts=2), batch_size=1,
        batch_format="pyarrow", num_cpus=0.25)
    rows = pa.concat_tables(list(ds.iter_batches(batch_size=None, batch_format="pyarrow"))).to_pylist()
    crasher = [r for r in rows if r["asset_id"] == "crasher"]
    assert len(crasher) == 1 and crasher[0]["segment_index"] == -1
    assert "ended the decode worker process 2 times" in crasher[0]["error"] and "crasher.wav" in crasher[0]["error"]
    good = [r for r in rows if r["asset_id"] == "good"]
    assert all(r["error"] is None for r in good) and any(r["segment_index"] >= 0 for r in good)
    assert ledger.peek(["decode:good", "decode:crasher"]) == [0, 0]  # cleared by the task, in its worker


def test_the_attempt_ledger_is_shared_by_the_workers_and_outlives_them(ray_local):
    """The counts are in the GCS, not in a process: a try counted by a worker that then dies
    is still counted for the next worker (what a retry after a process death needs), and
    no actor is started for them."""
    import os

    from ray._private import state

    from medialake.pipelines.adapter import new_ledger

    ray = ray_local
    ledger = new_ledger()

    @ray.remote(num_cpus=0.25, max_retries=0)
    def try_and_die(led):
        led.begin(["asr:x"])
        os._exit(1)  # the process dies with the try counted

    with pytest.raises(ray.exceptions.RayError):
        ray.get(try_and_die.remote(ledger))
    assert ray.get(ray.remote(num_cpus=0.25)(lambda led: led.begin(["asr:x"])).remote(ledger)) == [1]
    assert ledger.peek(["asr:x"]) == [2]
    assert not [a for a in state.actors().values() if a.get("ActorClassName", "").endswith("AttemptLedger")]
    ledger.close()


def test_retries_wait_for_the_batches_beside_them_and_hold_the_process_alone():
    """Step by step, with events (no timing): a retry waits for the first try beside it, and a
    first try that comes while the retry waits runs after the retry."""
    import threading
    import time

    from medialake.pipelines.retry import SharedOrAlone

    lock, log = SharedOrAlone(), []
    a_in, a_go, retry_go = threading.Event(), threading.Event(), threading.Event()

    def first_try(name, inside=None, go=None):
        with lock.shared():
            log.append(f"{name}+")
            if inside:
                inside.set()
            if go:
                go.wait(10)
            log.append(f"{name}-")

    def retry():
        with lock.alone():
            log.append("retry+")
            retry_go.wait(10)
            log.append("retry-")

    def until(cond):
        deadline = time.monotonic() + 10
        while not cond():
            assert time.monotonic() < deadline
            time.sleep(0.005)

    a = threading.Thread(target=first_try, args=("a", a_in, a_go))
    a.start()
    assert a_in.wait(10)
    r = threading.Thread(target=retry)
    r.start()
    until(lambda: lock._waiting_alone == 1)  # the retry waits for a
    b = threading.Thread(target=first_try, args=("b",))
    b.start()
    time.sleep(0.05)
    assert log == ["a+"]  # neither the retry nor b has started beside a
    a_go.set()
    until(lambda: "retry+" in log)
    time.sleep(0.05)
    assert log == ["a+", "a-", "retry+"]  # b waits while the retry holds the process alone
    retry_go.set()
    for t in (a, r, b):
        t.join(10)
    assert log == ["a+", "a-", "retry+", "retry-", "b+", "b-"]
