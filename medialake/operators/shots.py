"""Shot boundaries from frame differences on small grey frames.

Frames are sampled sparsely at ``analysis_fps`` (see :class:`~medialake.operators.video.FrameSampler`),
shrunk to 32x32 grey, and compared; a cut is where the mean absolute difference jumps
above ``threshold``. Shots shorter than ``min_s`` are merged into the one before, shots
longer than ``max_s`` are split evenly.
"""

from __future__ import annotations

import math

import numpy as np

from medialake.operators.video import FrameSampler, gray_small


def cut_times(sampler: FrameSampler, duration_s: float, analysis_fps: float = 4.0, threshold: float = 0.12) -> list[float]:
    """Times of the frames that differ from the previous sampled frame by more than ``threshold``."""
    n = max(1, int(duration_s * analysis_fps))
    times = [i / analysis_fps for i in range(n)]
    cuts: list[float] = []
    prev = None
    for t, img in sampler.images(times, short_side=64):
        cur = gray_small(img)
        if prev is not None and float(np.abs(cur - prev).mean()) > threshold:
            cuts.append(t)
        prev = cur
    return cuts


def shots_from_cuts(cuts: list[float], duration_s: float, min_s: float = 1.0, max_s: float = 30.0) -> list[tuple[float, float]]:
    """Turn cut times into ``(start, end)`` shots covering ``[0, duration_s)``.

    >>> shots_from_cuts([2.0, 2.5, 7.0], 10.0, min_s=1.0, max_s=30.0)
    [(0.0, 2.5), (2.5, 7.0), (7.0, 10.0)]
    """
    bounds = [0.0]
    for c in sorted(cuts):
        if 0 < c < duration_s:
            if c - bounds[-1] < min_s:
                bounds[-1] = c if len(bounds) > 1 else bounds[-1]
                continue
            bounds.append(c)
    if duration_s - bounds[-1] < min_s and len(bounds) > 1:
        bounds.pop()
    bounds.append(duration_s)
    out = []
    for a, b in zip(bounds, bounds[1:]):
        parts = max(1, math.ceil((b - a) / max_s - 1e-9))
        step = (b - a) / parts
        out += [(round(a + i * step, 4), round(a + (i + 1) * step, 4)) for i in range(parts)]
    return out


def detect_shots(sampler: FrameSampler, duration_s: float, *, analysis_fps: float = 4.0, threshold: float = 0.12,
                 min_s: float = 1.0, max_s: float = 30.0) -> list[tuple[float, float]]:
    """Shots of a video: sparse sampling, frame differences, min/max length applied."""
    return shots_from_cuts(cut_times(sampler, duration_s, analysis_fps, threshold), duration_s, min_s, max_s)
