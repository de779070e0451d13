import pytest

from medialake.errors import ConfigError
from medialake.pipelines.config import ROLES, load_config
from medialake.pipelines.adapter import AUTO_GPU_SHARE, fuse, gpus_for, payload_drops, pool_args, stage_args, steps
from medialake.pipelines.plan import build, vector_dims


def test_steps_follow_the_roles_that_have_a_model():
    assert [s.name for s in steps(load_config())] == ["asr", "ocr", "text"]
    cfg = load_config(overrides={"asr": {"model": None}, "ocr": {"model": None}, "audio": {"model": "clap-dir"}})
    names = [s.name for s in steps(cfg)]
    assert names == ["text", "audio"]
    assert steps(cfg)[1].decode_settings == {"sample_rate": 16000}


def test_gpu_share_is_automatic_on_gpu_clusters_and_zero_on_cpu():
    cfg = load_config(overrides={"captioner": {"model": "m"}, "ocr": {"model": "rapidocr"}})
    by = {s.name: s for s in steps(cfg)}
    assert gpus_for(by["captioner"], 1.0) == AUTO_GPU_SHARE["captioner"]
    assert gpus_for(by["ocr"], 1.0) == 0.0  # CPU-only model
    assert gpus_for(by["captioner"], 0.0) == 0.0
    explicit = steps(load_config(overrides={"text": {"num_gpus": 0.5}}))[-1]
    assert gpus_for(explicit, 2.0) == 0.5
    cuda = steps(load_config(overrides={"text": {"device": "cuda"}}))[-1]
    with pytest.raises(ConfigError, match="text.device"):
        gpus_for(cuda, 0.0)


def test_stage_args_carry_batch_size_fractional_cpus_and_options(ray_local):
    step = steps(load_config(overrides={"asr": {"batch_size": 3, "num_cpus": 0.3, "concurrency": 2}}))[0]
    args = stage_args(step, available_gpus=0.0)
    assert args["batch_size"] == 3 and args["num_cpus"] == 0.3 and args["num_gpus"] is None
    kw = args["fn_constructor_kwargs"]
    assert kw["model"] == "whisper-base" and kw["device"] == "cpu" and kw["options"].vad_filter is True
    gpu = stage_args(step, available_gpus=1.0)
    assert gpu["num_gpus"] == AUTO_GPU_SHARE["asr"] and gpu["fn_constructor_kwargs"]["device"] == "auto"


def test_vector_dims_come_from_model_configs(tiny):
    cfg = load_config(overrides={"image_text": {"model": str(tiny["clip"])}, "audio": {"model": str(tiny["clap"])}})
    assert vector_dims(cfg) == {"image_vector": 16, "audio_vector": 24}
    assert vector_dims(load_config()) == {}


def test_payloads_are_dropped_after_the_last_stage_that_reads_them():
    # offline: ASR is the only reader of the PCM, OCR of the OCR frames, nothing reads the model frames
    assert payload_drops(steps(load_config())) == (("frames", "frame_times"), [("audio",), ("ocr_frames",), ()])
    cfg = load_config(overrides={"image_text": {"model": "clip-dir"}, "audio": {"model": "clap-dir"}})
    plan = steps(cfg)
    at_decode, after = payload_drops(plan)
    # image_text reads every sampled frame and their times; OCR its larger copies
    assert at_decode == ()
    by = dict(zip([s.name for s in plan], after))
    assert by == {"asr": (), "ocr": ("ocr_frames",), "text": (), "image_text": ("frames", "frame_times"),
                  "audio": ("audio",)}
    assert payload_drops([]) == (("audio", "frames", "frame_times", "ocr_frames"), [])


def test_a_plan_without_readers_carries_no_pcm_or_frames_unless_asked(ray_local, samples):
    from medialake.operators.scan import scan

    off = {r: {"model": None} for r in ("asr", "ocr", "text")}
    cfg = load_config(overrides=off)
    records = [r for r in scan(str(samples), cfg.extensions) if r.media_type == "video"]
    segments = lambda ds: [r for r in ds.take_all() if r["segment_index"] >= 0]  # noqa: E731 (no end markers)
    rows = segments(build(records, cfg))
    assert rows and all(r["audio"] is None and r["frames"] is None for r in rows)
    assert all(r["thumbnail"] for r in rows)  # the thumbnail is stored: always made
    kept = segments(build(records, cfg, keep=("audio", "frames")))
    assert len(kept) == len(rows) and all(r["audio"] for r in kept)
    assert all(r["frames"] for r in kept)


def test_each_stage_reads_what_decode_or_an_earlier_stage_makes_and_writes_stored_columns():
    from medialake import schema
    from medialake.pipelines.adapter import STAGES

    made = set(schema.STREAM.names)
    stored = set(schema.SEGMENTS.names) | set(schema.MODEL_VECTOR_COLUMNS) | {"frame_rows"}  # frame_rows: the frames table
    for cls in STAGES:
        assert set(cls.reads) <= made, (cls.role, set(cls.reads) - made)
        assert cls.writes and set(cls.writes) <= stored, (cls.role, set(cls.writes) - stored)
        made |= set(cls.writes)
    assert [cls.role for cls in STAGES] == ["asr", "ocr", "captioner", "text", "image_text", "audio"]


def test_a_misspelt_model_option_fails_at_config_load_naming_it():
    with pytest.raises(ConfigError, match=r"asr\.options\.beam_sise"):
        load_config(overrides={"asr": {"options": {"beam_sise": 5}}})
    with pytest.raises(ConfigError, match=r"ocr\.options\.det_side"):
        load_config(overrides={"ocr": {"options": {"det_side": "big"}}})
    with pytest.raises(ConfigError, match=r"text\.options\.max_length"):  # the text role takes no options
        load_config(overrides={"text": {"options": {"max_length": 5}}})
    assert load_config(overrides={"asr": {"options": {"beam_size": 5}}}).asr.options.beam_size == 5


def test_a_stage_built_by_hand_checks_its_options_too():
    from medialake.models.asr import AsrStage

    with pytest.raises(ConfigError, match=r"asr\.options"):
        AsrStage.typed_options({"vad_filtr": True})
    assert AsrStage.typed_options(None).beam_size == 1


def _logical_names(ds) -> list[str]:
    names, op = [], ds._logical_plan.dag
    while op is not None:
        names.append(op.name)
        op = op.input_dependencies[0] if op.input_dependencies else None
    return names[::-1]


def test_pools_and_tasks_are_named_by_role(ray_local, samples):
    from medialake.operators.scan import scan

    cfg = load_config()
    one = scan(str(samples), cfg.extensions)[:1]
    assert _logical_names(build(one, cfg)) == ["FromBlocks", "MapBatches(decode)", "MapBatches(asr+ocr+text)"]
    light = cfg.model_copy(update={"fuse_stages": "light"})
    assert _logical_names(build(one, light)) == ["FromBlocks", "MapBatches(decode)", "MapBatches(asr)",
                                                 "MapBatches(ocr+text)"]
    apart = cfg.model_copy(update={"fuse_stages": "none"})
    assert _logical_names(build(one, apart))[2:] == ["MapBatches(asr)", "MapBatches(ocr)", "MapBatches(text)"]


def test_the_old_fuse_switch_still_loads():
    assert load_config(overrides={"fuse_light_stages": False}).fuse_stages == "none"
    assert load_config(overrides={"fuse_light_stages": True}).fuse_stages == "light"
    with pytest.raises(ConfigError, match="fuse_light_stages"):
        load_config(overrides={"fuse_light_stages": "yes please"})
    with pytest.raises(ConfigError, match="fuse_stages"):
        load_config(overrides={"fuse_stages": "all"})


def test_cpu_roles_share_one_pool_and_gpu_roles_keep_their_own():
    plan = steps(load_config())
    assert [[s.name for s in g] for g in fuse(plan, 0.0)] == [["asr", "ocr", "text"]]
    # on a GPU cluster ASR and the text encoder take GPU shares, OCR does not: apart
    assert [[s.name for s in g] for g in fuse(plan, 1.0)] == [["asr"], ["ocr"], ["text"]]
    # roles placed on other nodes (custom resources) stay apart
    placed = steps(load_config(overrides={"ocr": {"resources": {"models": 0.01}}}))
    assert [[s.name for s in g] for g in fuse(placed, 0.0)] == [["asr"], ["ocr"], ["text"]]
    cap = steps(load_config(overrides={"captioner": {"model": "m"}}))
    assert [[s.name for s in g] for g in fuse(cap, 0.0)] == [["asr", "ocr", "captioner", "text"]]
    assert [len(g) for g in fuse(plan, 0.0, "none")] == [1, 1, 1]


def test_light_neighbours_with_the_same_cpu_pool_share_one_actor():
    plan = steps(load_config())
    assert [[s.name for s in g] for g in fuse(plan, 0.0, "light")] == [["asr"], ["ocr", "text"]]
    assert [[s.name for s in g] for g in fuse(plan, 1.0, "light")] == [["asr"], ["ocr"], ["text"]]
    # different pools (here: two OCR actors, one text actor) stay apart
    two = steps(load_config(overrides={"ocr": {"concurrency": 2}}))
    assert [len(g) for g in fuse(two, 0.0, "light")] == [1, 1, 1]
    # a heavy stage in between (the captioner) breaks the chain
    cap = steps(load_config(overrides={"captioner": {"model": "m"}}))
    assert [[s.name for s in g] for g in fuse(cap, 0.0, "light")] == [["asr"], ["ocr"], ["captioner"], ["text"]]


def test_a_fused_pool_builds_each_stage_with_its_own_settings(ray_local):
    from medialake.models.asr import AsrStage
    from medialake.models.ocr import OcrStage
    from medialake.models.stage import StageChain
    from medialake.models.text import TextEmbedStage

    cfg = load_config(overrides={"ocr": {"batch_size": 6, "options": {"det_side": 256}}, "text": {"batch_size": 4},
                                 "asr": {"batch_size": 3}})
    name, cls, args = pool_args(fuse(steps(cfg), 0.0)[0], available_gpus=0.0)
    assert name == "asr+ocr+text" and cls is StageChain
    # the smallest batch, the largest reservation, the pool's threads for every part
    assert args["batch_size"] == 3 and args["num_cpus"] == max(cfg.asr.num_cpus, cfg.ocr.num_cpus, cfg.text.num_cpus)
    parts = args["fn_constructor_kwargs"]["parts"]
    assert [c for c, _ in parts] == [AsrStage, OcrStage, TextEmbedStage]
    assert parts[1][1]["options"].det_side == 256 and parts[1][1]["batch_size"] == 6
    assert parts[2][1]["model"] == "all-MiniLM-L6-v2"
    assert [p["threads"] for _, p in parts] == [cfg.asr.threads] * 3
    pool = args["compute"]
    assert pool.min_size == pool.max_size == 1 and pool.max_concurrent_calls_per_actor == cfg.asr.threads == 2
    assert pool.enable_true_multi_threading
    # a pool of single-threaded actors is Ray Data's default one
    single = stage_args(steps(load_config(overrides={"asr": {"threads": 1}}))[0], 0.0)
    assert single["compute"].max_concurrent_calls_per_actor is None and "threads" not in single["fn_constructor_kwargs"]
    # the largest pool of the fused roles sizes it
    bigger = load_config(overrides={"text": {"concurrency": 3}})
    assert pool_args(fuse(steps(bigger), 0.0)[0], 0.0)[2]["compute"].max_size == 3


def test_a_stage_chain_runs_its_parts_in_order():
    import pyarrow as pa

    from medialake.models.stage import ModelStage, StageChain

    class Add(ModelStage):
        role = "add"

        def __call__(self, batch):
            col = batch.column("x").to_pylist()
            return batch.set_column(0, "x", pa.array([v + [self.model] for v in col]))

    chain = StageChain(((Add, {"model": "a"}), (Add, {"model": "b"})))
    assert chain(pa.table({"x": [[], ["z"]]})).column("x").to_pylist() == [["a", "b"], ["z", "a", "b"]]


def test_every_stage_of_a_plan_shares_one_attempt_ledger(ray_local, samples):
    """One ledger (one key prefix in the GCS) per run, not one per role (its keys carry the role)."""
    from medialake.operators.scan import scan

    cfg = load_config(overrides={"fuse_stages": "none"})
    ds = build(scan(str(samples), cfg.extensions)[:1], cfg)
    ledgers, op = [], ds._logical_plan.dag
    while op is not None:
        kwargs = getattr(op, "fn_constructor_kwargs", None) or getattr(op, "_fn_constructor_kwargs", None) or {}
        if "ledger" in kwargs:
            ledgers.append(kwargs["ledger"])
        op = op.input_dependencies[0] if op.input_dependencies else None
    assert len(ledgers) == 3  # asr, ocr, text
    assert len({led.prefix for led in ledgers}) == 1


def test_stage_names_shown_to_people_are_role_names_fused_pools_included():
    from medialake.pipelines.monitor import stage_name

    assert stage_name("MapBatches(decode)->MapBatches(asr)") == "decode+asr"
    assert stage_name("MapBatches(ocr+text)") == "ocr+text"  # one pool for two light roles
    assert stage_name("MapBatches(decode)->MapBatches(ocr+text)") == "decode+ocr+text"


def test_decode_tasks_follow_the_cores_not_the_files():
    from medialake.pipelines.adapter import decode_tasks

    off = load_config(overrides={role: {"model": None} for role in ROLES})
    assert decode_tasks(off, None, [{"CPU": 2.0}]) == 1  # not CPUs / decode.num_cpus = 4
    assert decode_tasks(off, None, [{"CPU": 8.0}, {"CPU": 4.0}]) == 6
    assert decode_tasks(off, None, [{"CPU": 0.5}]) == 1
    assert decode_tasks(off, None, []) is None  # Ray not started: Ray Data decides
    assert decode_tasks(off.model_copy(update={"decode": off.decode.model_copy(update={"concurrency": 3})}),
                        None, [{"CPU": 2.0}]) == 3
    placed = load_config(overrides={**{role: {"model": None} for role in ROLES},
                                    "decode": {"resources": {"decode": 0.01}}})
    assert decode_tasks(placed, None, [{"CPU": 8.0, "decode": 1.0}, {"CPU": 16.0, "models": 1.0}]) == 4
    cfg = load_config()
    first = stage_args(steps(cfg)[0], 0.0)
    assert decode_tasks(cfg, first, [{"CPU": 2.0}]) is None  # fused into the model actors, which bound it
    apart = load_config(overrides={"decode": {"num_cpus": 0.25}})
    assert decode_tasks(apart, stage_args(steps(apart)[0], 0.0), [{"CPU": 4.0}]) == 2


def test_the_decode_cap_keeps_decode_fused_into_the_first_pool(ray_local, samples):
    from ray.data._internal.logical.optimizers import get_execution_plan

    from medialake.operators.scan import scan

    def physical(cfg):
        """(the physical operators' names, the decode tasks' cap)"""
        ds = build(scan(str(samples), cfg.extensions)[:2], cfg)
        op = ds._logical_plan.dag
        while op.name != "MapBatches(decode)":
            op = op.input_dependencies[0]
        cap = op.compute.size
        op, names = get_execution_plan(ds._logical_plan)[0].dag, []
        while op is not None:
            names.append(op.name)
            op = op.input_dependencies[0] if op.input_dependencies else None
        return names[::-1], cap

    assert physical(load_config()) == (["Input", "MapBatches(decode)->MapBatches(asr+ocr+text)"], None)
    assert physical(load_config(overrides={"fuse_stages": "light"})) == (
        ["Input", "MapBatches(decode)->MapBatches(asr)", "MapBatches(ocr+text)"], None)
    # ray_local has 2 CPUs: 1 decode task at a time, not 2 / decode.num_cpus = 4
    assert physical(load_config(overrides={role: {"model": None} for role in ROLES})) == (
        ["Input", "MapBatches(decode)"], 1)
    apart, cap = physical(load_config(overrides={"decode": {"num_cpus": 0.25}}))
    assert apart[1:3] == ["MapBatches(decode)", "MapBatches(asr+ocr+text)"] and cap == 1


def _logical_ops(ds) -> dict:
    ops, op = {}, ds._logical_plan.dag
    while op is not None:
        ops[op.name] = op
        op = op.input_dependencies[0] if op.input_dependencies else None
    return ops


def test_the_pool_decode_is_fused_into_takes_a_file_per_task(ray_local, samples):
    """Ray Data bundles a fused task's input rows to the larger batch size of the two ops:
    with the pool's batch size of 2, each task decoded and ran two files one after the
    other, and the run ended on one thread's two files while the other thread idled. Where
    decode is fused in, the pool maps whole blocks (a file's, as it decodes them) and decode
    cuts its blocks to the pool's batch size, so a file's first segments still pass at once."""
    from medialake.operators.scan import scan

    records = scan(str(samples), load_config().extensions)
    fused = _logical_ops(build(records, load_config()))
    assert fused["MapBatches(asr+ocr+text)"].batch_size is None
    assert fused["MapBatches(decode)"].batch_size == 1
    assert fused["MapBatches(decode)"].fn.keywords["cfg"].rows_per_block == 2  # min(asr 2, ocr 4, text 4)
    apart = _logical_ops(build(records, load_config(overrides={"decode": {"num_cpus": 0.25}})))
    assert apart["MapBatches(asr+ocr+text)"].batch_size == 2  # not fused: batches of the stages' size
    assert apart["MapBatches(decode)"].fn.keywords["cfg"].rows_per_block == load_config().decode.rows_per_block


def test_photos_come_first_then_the_largest_files(ray_local, samples):
    from medialake.operators.scan import scan

    records = scan(str(samples), load_config().extensions)
    assert {r.media_type for r in records} >= {"image", "video", "audio"}
    import ray

    bundles = _logical_ops(build(records, load_config()))["FromBlocks"].input_data
    order = [ray.get(b.block_refs[0]).column("asset_id")[0].as_py() for b in bundles]
    by_id = {r.asset_id: r for r in records}
    kinds = [by_id[a].media_type == "image" for a in order]
    assert kinds == sorted(kinds, reverse=True)  # every photo before every long file
    long_sizes = [by_id[a].size for a in order if by_id[a].media_type != "image"]
    assert long_sizes == sorted(long_sizes, reverse=True) and len(long_sizes) >= 2
