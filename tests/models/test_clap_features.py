"""CLAP features computed once per distinct frame equal the extractor's own, bit for bit."""

import numpy as np
import pytest
from transformers import ClapFeatureExtractor

from medialake.models.clap_features import ClapFeatures, periodic_log_mel

RATE = 48000


def clips(rng):
    return [
        (0.1 * rng.standard_normal(RATE // 2)).astype(np.float32),   # 0.5 s: 20 repeats
        np.sin(np.arange(3 * RATE) / 7).astype(np.float32),          # 3 s: 3 repeats and a zero tail
        (0.1 * rng.standard_normal(24100)).astype(np.float32),       # not a whole number of hops
        (0.1 * rng.standard_normal(10 * RATE)).astype(np.float32),   # the whole window
        (0.1 * rng.standard_normal(12 * RATE)).astype(np.float32),   # longer than the window
        (0.1 * rng.standard_normal(480)).astype(np.float32),         # one hop
    ]


@pytest.mark.parametrize("truncation", ["rand_trunc", "fusion"])
def test_features_equal_the_extractors_own(truncation):
    waves = clips(np.random.default_rng(0))
    np.random.seed(1)
    want = ClapFeatureExtractor()(waves, sampling_rate=RATE, truncation=truncation, return_tensors="np")
    np.random.seed(1)
    got = ClapFeatures(ClapFeatureExtractor())(waves, sampling_rate=RATE, truncation=truncation, return_tensors="np")
    assert got["input_features"].shape == want["input_features"].shape
    assert np.array_equal(got["input_features"], want["input_features"])
    assert np.array_equal(got["is_longer"], want["is_longer"])


def test_the_repeats_are_found_and_a_signal_that_does_not_repeat_is_left_alone():
    fe = ClapFeatureExtractor()
    rng = np.random.default_rng(2)
    clip = rng.standard_normal(RATE // 2)
    tiled = np.tile(clip, 20)
    mel = periodic_log_mel(tiled, fe.mel_filters_slaney, fe.fft_window_size, fe.hop_length, len(clip))
    assert mel is not None and np.array_equal(mel, fe._np_extract_fbank_features(tiled, fe.mel_filters_slaney))
    other = tiled.copy()
    other[-5] += 1.0
    assert periodic_log_mel(other, fe.mel_filters_slaney, fe.fft_window_size, fe.hop_length, len(clip)) is None
