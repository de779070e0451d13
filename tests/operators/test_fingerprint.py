"""Audio fingerprints: no numba gufunc on the way, copies stay near, other sounds far."""

import numpy as np
import pytest

from medialake.operators.fingerprint import fingerprint, fingerprint_distance
from media import tone


def test_fingerprint_calls_no_numba_gufunc(monkeypatch):
    """librosa's gufuncs (tuning estimate, peak picking) are cached on disk by numba, and two
    processes compiling one at the same time can leave that cache mismatched, after which
    every process that loads it segfaults (numba #10128; seen as Ray decode workers dying
    in a loop). The fingerprint must not depend on any of them."""
    from numba.np.ufunc import gufunc

    def refuse(self, *args, **kwargs):
        raise AssertionError(f"numba gufunc {self!r} called")

    monkeypatch.setattr(gufunc.GUFunc, "__call__", refuse)
    sr = 16000
    fp = fingerprint(tone(2.0, sr, 440.0), sr)
    assert fp is not None and len(fp) % 13 == 0


def test_a_copy_is_near_and_another_sound_is_far():
    sr = 16000
    a = tone(3.0, sr, 440.0)
    copy = (a * 0.5 + np.random.default_rng(0).normal(0, 0.003, a.size)).astype(np.float32)  # quieter, noisy
    other = tone(3.0, sr, 587.3)  # a fourth up: other chroma
    fa = fingerprint(a, sr)
    assert fingerprint_distance(fa, fingerprint(copy, sr)) < 0.05
    assert fingerprint_distance(fa, fingerprint(other, sr)) > 0.3
    assert fingerprint(np.zeros(sr, np.float32), sr) is None
