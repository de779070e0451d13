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


def test_dying_and_raising_inputs_become_failed_rows_and_the_run_completes(ray_local, tmp_path):
    ray = ray_local
    cfg = IngestConfig(retries=RetryConfig(attempts=2))
    role = RoleConfig[flaky_models.FlakyOptions](model="flaky", batch_size=4, num_cpus=0.25,
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


def test_ledger_and_markers_without_ray():  # (uses the autouse fixture's Ray only for setup)
    led = AttemptLedger()
    assert led.begin(["k1", "k2"]) == [0, 0] and led.begin(["k1"]) == [1]
    led.clear(["k1"])
    assert led.peek(["k1", "k2"]) == [0, 1]
    m = failed_markers(_rows().slice(0, 2), ["r1", "r2"]).to_pylist()
    assert [r["segment_index"] for r in m] == [-1, -1] and [r["error"] for r in m] == ["r1", "r2"]
