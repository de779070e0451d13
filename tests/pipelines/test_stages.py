import pytest

from medialake.errors import ConfigError
from medialake.pipelines.config import load_config
from medialake.pipelines.ingest import AUTO_GPU_SHARE, gpus_for, stage_args, steps, vector_dims


def test_steps_follow_the_roles_that_have_a_model():
    assert [s.name for s in steps(load_config())] == ["asr", "ocr", "text"]
    cfg = load_config(overrides={"asr": {"model": None}, "ocr": {"model": None}, "audio": {"model": "clap-dir"}})
    names = [s.name for s in steps(cfg)]
    assert names == ["text", "audio"]
    assert steps(cfg)[1].extra == {"sample_rate": 16000}


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
    assert kw["model"] == "whisper-tiny.en" and kw["device"] == "cpu" and kw["vad_filter"] is True
    gpu = stage_args(step, available_gpus=1.0)
    assert gpu["num_gpus"] == AUTO_GPU_SHARE["asr"] and gpu["fn_constructor_kwargs"]["device"] == "auto"


def test_vector_dims_come_from_model_configs(tiny):
    cfg = load_config(overrides={"image_text": {"model": str(tiny["clip"])}, "audio": {"model": str(tiny["clap"])}})
    assert vector_dims(cfg) == {"image_vector": 16, "audio_vector": 24}
    assert vector_dims(load_config()) == {}
