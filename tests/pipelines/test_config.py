import pytest

from medialake.errors import ConfigError
from medialake.pipelines.config import IngestConfig, load_config


def test_defaults_are_the_offline_profile():
    cfg = load_config()
    assert cfg.profile == "offline"
    # base: chosen on real Czech, Dutch and English speech (benchmarks/asr_bench.py, README)
    assert cfg.asr.model == "whisper-base" and cfg.text.model == "all-MiniLM-L6-v2"
    assert load_config(profile="multilingual").asr.model == "whisper-base"
    assert load_config(profile="fast").ocr.model is None
    assert load_config(profile="fast").asr.model == "whisper-tiny.en"
    assert cfg.asr.options.vad_filter is True and cfg.asr.options.word_timestamps is True
    assert cfg.ocr.model == "rapidocr" and cfg.summarizer.model == "extractive"
    assert cfg.image_text.model is None and cfg.audio.model is None and cfg.captioner.model is None
    assert cfg.decode.window_s == 10.0 and cfg.decode.sample_rate == 16000


def test_yaml_overrides_and_is_frozen(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("decode:\n  window_s: 5\n  overlap_s: 1\nasr:\n  model: null\n")
    cfg = load_config(f)
    assert cfg.decode.window_s == 5 and cfg.decode.overlap_s == 1 and cfg.asr.model is None
    with pytest.raises(Exception):
        cfg.decode.window_s = 3  # frozen


def test_unknown_field_fails_naming_it(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("decode:\n  window_secs: 5\n")
    with pytest.raises(ConfigError, match=r"decode\.window_secs"):
        load_config(f)


def test_bad_value_names_field_and_file(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("asr:\n  batch_size: -2\n")
    with pytest.raises(ConfigError, match=r"asr\.batch_size") as e:
        load_config(f)
    assert str(f) in str(e.value)


def test_overlap_must_be_smaller_than_window():
    with pytest.raises(ConfigError, match="overlap_s"):
        load_config(overrides={"decode": {"window_s": 2, "overlap_s": 2}})


def test_unknown_profile_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="unknown profile"):
        load_config(profile="nope")
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")


def test_config_hash_tracks_what_changes_outputs():
    a = IngestConfig()
    assert a.config_hash() == IngestConfig().config_hash()
    assert a.config_hash() != load_config(overrides={"decode": {"window_s": 5}}).config_hash()
    # pool sizing does not change results, so it does not change the hash
    assert a.config_hash() == load_config(overrides={"asr": {"concurrency": 3}}).config_hash()


def test_fast_and_gpu_profiles():
    fast = load_config(profile="fast")
    assert fast.asr.model == "whisper-tiny.en" and fast.asr.options.compute_type == "int8"
    gpu = load_config(profile="gpu")
    assert gpu.asr.options.backend == "transformers" and gpu.captioner.model and gpu.audio.model
    roles = [gpu.asr, gpu.text, gpu.image_text, gpu.audio, gpu.captioner]
    assert all(r.num_gpus > 0 for r in roles) and sum(r.num_gpus for r in roles) <= 1.0


def test_every_role_changes_the_hash():
    base = IngestConfig().config_hash()
    for role in ("image_text", "audio", "captioner", "ocr", "summarizer"):
        assert load_config(overrides={role: {"model": "x"}}).config_hash() != base, role
