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


class WindowPlanner:
    """Fixed windows over a timeline whose length is only known at the end (streaming).

    ``ready(known_s)`` returns the windows that can no longer change once ``known_s``
    seconds of the stream exist; ``finish(duration_s)`` returns the rest. Together they
    give exactly ``windows(duration_s, window_s, overlap_s, min_tail_s)``.
    """

    def __init__(self, window_s: float, overlap_s: float = 0.0, min_tail_s: float = 0.5):
        self.window_s, self.overlap_s, self.min_tail_s = window_s, overlap_s, min_tail_s
        self.step = window_s - overlap_s
        self.k = 0  # index of the next window to hand out

    @property
    def next_start(self) -> float:
        return round(self.k * self.step, 6)

    def ready(self, known_s: float) -> list[tuple[float, float]]:
        out = []
        while self.k * self.step + self.window_s + self.min_tail_s <= known_s:
            s = round(self.k * self.step, 6)
            out.append((s, round(s + self.window_s, 6)))
            self.k += 1
        return out

    def finish(self, duration_s: float) -> list[tuple[float, float]]:
        start = self.next_start
        rest = [w for w in windows(duration_s, self.window_s, self.overlap_s, self.min_tail_s) if w[0] >= start - 1e-6]
        self.k += len(rest)
        return rest


class SpanPlanner:
    """The same interface over spans known in advance (shots)."""

    def __init__(self, spans: list[tuple[float, float]]):
        self.spans = list(spans)
        self.i = 0

    @property
    def next_start(self) -> float:
        return self.spans[self.i][0] if self.i < len(self.spans) else float("inf")

    def ready(self, known_s: float) -> list[tuple[float, float]]:
        out = []
        while self.i < len(self.spans) and self.spans[self.i][1] <= known_s:
            out.append(self.spans[self.i])
            self.i += 1
        return out

    def finish(self, duration_s: float) -> list[tuple[float, float]]:
        out = self.spans[self.i:]
        self.i = len(self.spans)
        return out


def sample_times(start_s: float, end_s: float, n: int) -> list[float]:
    """``n`` times spread evenly inside ``[start_s, end_s)`` (centres of ``n`` equal parts)."""
    if n <= 0:
        return []
    d = max(0.0, end_s - start_s)
    return [round(start_s + d * (i + 0.5) / n, 4) for i in range(n)]
