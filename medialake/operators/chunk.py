"""Fixed windows over a timeline."""

from __future__ import annotations


def windows(duration_s: float, window_s: float, overlap_s: float = 0.0, min_tail_s: float = 0.5) -> list[tuple[float, float]]:
    """Cut ``[0, duration_s)`` into windows of ``window_s`` that overlap by ``overlap_s``.

    A last window shorter than ``min_tail_s`` is folded into the one before it.

    >>> windows(25, 10)
    [(0.0, 10.0), (10.0, 20.0), (20.0, 25.0)]
    """
    if duration_s <= 0:
        return []
    step = window_s - overlap_s
    out: list[tuple[float, float]] = []
    start = 0.0
    while start < duration_s:
        end = min(start + window_s, duration_s)
        if out and end - start < min_tail_s and end >= out[-1][1]:
            out[-1] = (out[-1][0], end)
            break
        out.append((round(start, 6), round(end, 6)))
        if end >= duration_s:
            break
        start += step
    return out
