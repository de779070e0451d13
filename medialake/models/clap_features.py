"""CLAP's log-mel features for short clips, without the repeated frames.

CLAP's feature extractor (transformers' ``ClapFeatureExtractor``) fills a clip shorter than
its 10 s window by repeating it (``padding="repeatpad"``) and then takes a 1024-point FFT
every 10 ms: 1,001 frames for every clip, however short. A 0.5 s segment is repeated 20
times, so 20 frames in 21 are copies of a frame already computed, and the FFTs are most of
the audio role's CPU on short segments (41 of 63 ms a clip with the tests' tiny CLAP).

:class:`ClapFeatures` wraps one extractor. When a clip's length is a whole number of hops,
every frame that lies wholly inside the repeats holds the same samples as one frame of the
first repeat, so it computes the FFT of each distinct frame once and copies it to the rest;
frames at the edges (reflect padding, the zero tail) are computed as they are. The output is
the extractor's own, bit for bit (the test compares them on the extractor's two filter
banks and several lengths); everything else (truncation, fusion, tensors) is the
extractor's code. A clip whose length is not a whole number of hops, or one as long as
the window, takes the extractor's own path.
"""

from __future__ import annotations

import numpy as np


def frame_sources(n_frames: int, hop: int, half: int, period: int, repeated: int) -> np.ndarray | None:
    """For each frame, the index of a frame with the same samples (itself at the edges);
    None when the repeats give no copies (fewer than two, or a period that is not a whole
    number of hops)."""
    if period % hop or repeated < 2:
        return None
    step = period // hop
    first = -(-half // hop)  # the first frame whose window starts inside the signal
    k = np.arange(n_frames)
    inside = (k * hop - half >= 0) & (k * hop + half <= repeated * period)
    if not inside[first: first + step].all():
        return None
    return np.where(inside, first + (k - first) % step, k)


def periodic_log_mel(waveform: np.ndarray, mel_filters: np.ndarray, n_fft: int, hop: int,
                     period: int) -> np.ndarray | None:
    """``ClapFeatureExtractor._np_extract_fbank_features`` for a waveform that repeats every
    ``period`` samples from its start; None if it does not."""
    from transformers.audio_utils import power_to_db, window_function

    repeated = len(waveform) // period if period else 0
    if repeated < 2 or not np.array_equal(waveform[period: repeated * period], waveform[: (repeated - 1) * period]):
        return None
    half = n_fft // 2
    x = np.pad(waveform, (half, half), mode="reflect").astype(np.float64)
    n_frames = 1 + (x.size - n_fft) // hop
    sources = frame_sources(n_frames, hop, half, period, repeated)
    if sources is None:
        return None
    distinct, where = np.unique(sources, return_inverse=True)
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop][distinct]
    spectrum = np.fft.rfft(frames * window_function(n_fft, "hann").astype(np.float64), axis=-1)
    power = np.abs(spectrum.astype(np.complex64), dtype=np.float64) ** 2.0
    mel = np.maximum(1e-10, np.dot(mel_filters.T, power[where.ravel()].T))
    return np.asarray(power_to_db(mel, 1.0, 1e-10, None), np.float32).T


class ClapFeatures:
    """Calls a ``ClapFeatureExtractor`` as usual, its FFTs done once per distinct frame."""

    def __init__(self, extractor):
        self.extractor = extractor
        self.periods: tuple[int, ...] = ()
        self._own = extractor._np_extract_fbank_features
        extractor._np_extract_fbank_features = self._fbank

    @staticmethod
    def fits(extractor) -> bool:
        return type(extractor).__name__ == "ClapFeatureExtractor" and all(
            hasattr(extractor, a) for a in ("_np_extract_fbank_features", "fft_window_size", "hop_length"))

    def __call__(self, waves: list[np.ndarray], **kw):
        self.periods = tuple(sorted({len(w) for w in waves}))
        try:
            return self.extractor(waves, **kw)
        finally:
            self.periods = ()

    def __getattr__(self, name):
        return getattr(self.extractor, name)

    def _fbank(self, waveform: np.ndarray, mel_filters: np.ndarray | None = None) -> np.ndarray:
        for period in self.periods:
            if period < len(waveform):
                out = periodic_log_mel(waveform, mel_filters, self.extractor.fft_window_size,
                                       self.extractor.hop_length, period)
                if out is not None:
                    return out
        return self._own(waveform, mel_filters)
