import pytest
import ray.data

from medialake.errors import ConfigError
from medialake.pipelines.runtime import DATA_CONTEXT_DEFAULTS, tune_data_context


def test_tuning_sets_the_chosen_data_context_values():
    ctx = tune_data_context(ray.data.DataContext())
    assert ctx.max_tasks_in_flight_per_actor == DATA_CONTEXT_DEFAULTS["max_tasks_in_flight_per_actor"] == 2
    assert ctx.target_max_block_size == DATA_CONTEXT_DEFAULTS["target_max_block_size"] == 16 << 20


def test_environment_overrides_a_knob_and_rejects_junk(monkeypatch):
    monkeypatch.setenv("MEDIALAKE_MAX_TASKS_IN_FLIGHT_PER_ACTOR", "4")
    assert tune_data_context(ray.data.DataContext()).max_tasks_in_flight_per_actor == 4
    monkeypatch.setenv("MEDIALAKE_TARGET_MAX_BLOCK_SIZE", "big")
    with pytest.raises(ConfigError, match="MEDIALAKE_TARGET_MAX_BLOCK_SIZE"):
        tune_data_context(ray.data.DataContext())
