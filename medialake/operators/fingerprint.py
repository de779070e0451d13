"""Audio fingerprints of sound and music files, for near-duplicates (re-encoded, MP3/OGG copies).

The fingerprint is a coarse time series over the first :data:`MAX_S` seconds: per quarter
tenth of a second, the 12 chroma bins (``librosa.feature.chroma_stft``, tuned to A440) and the loudness relative to
the file's loudest moment, quantised to bytes (13 per step). Lossy codecs, resampling and
gain changes move it little; different sounds differ in pitch content or envelope.
:func:`fingerprint_distance` compares two of them (0 = the same, 1 = unrelated), allowing
a small time shift (encoder delay, trimmed silence).

librosa is imported only when a sound file is fingerprinted, never for video.
"""

from __future__ import annotations

import numpy as np

MAX_S = 120.0
STEP_S = 0.1
DIMS = 13
_FLOOR_DB = 60.0


class FingerprintBuffer:
    """Collects the PCM of a sound file's segments (float32 bytes) up to :data:`MAX_S` seconds."""

    def __init__(self, sample_rate: int):
        self.sample_rate = sample_rate
        self.parts: list[np.ndarray] = []
        self.samples = 0

    def add(self, pcm: bytes | None) -> None:
        room = int(MAX_S * self.sample_rate) - self.samples
        if not pcm or room <= 0:
            return
        x = np.frombuffer(pcm, dtype=np.float32)[:room]
        self.parts.append(x)
        self.samples += x.size

    def fingerprint(self) -> bytes | None:
        if not self.parts:
            return None
        try:
            return fingerprint(np.concatenate(self.parts), self.sample_rate)
        except Exception:  # a fingerprint is advisory: a sound that cannot be analysed has none
            return None


def fingerprint(pcm: np.ndarray, sample_rate: int) -> bytes | None:
    """The fingerprint of mono float32 ``pcm`` (None for silence)."""
    import librosa

    y = np.asarray(pcm, dtype=np.float32)[: int(MAX_S * sample_rate)]
    hop = max(1, int(sample_rate * STEP_S / 4))
    if y.size < hop or not np.any(np.abs(y) > 1e-4):
        return None
    n_fft = 2048 if y.size >= 2048 else 1 << max(6, int(np.log2(y.size)))  # a click is shorter than one window
    # The power spectrogram in numpy and tuning fixed at A440: librosa's tuning estimate and
    # its complex abs run numba gufuncs whose on-disk cache two processes compiling at once
    # can leave mismatched, after which every process loading it segfaults (numba #10128).
    spec = librosa.stft(np.pad(y, (0, max(0, n_fft - y.size))), n_fft=n_fft, hop_length=hop, center=True)
    power = spec.real ** 2 + spec.imag ** 2
    chroma = librosa.feature.chroma_stft(S=power, sr=sample_rate, n_fft=n_fft, hop_length=hop,
                                         tuning=0.0)[:, : 1 + y.size // hop]
    rms = librosa.feature.rms(y=y, frame_length=n_fft, hop_length=hop, center=True)[0]
    n = min(chroma.shape[1], rms.size)
    steps = -(-n // 4)  # the last, partial step counts: short sounds (a click) are a few steps long
    pad = 4 * steps - n
    chroma = np.pad(chroma[:, :n], ((0, 0), (0, pad)), mode="edge")
    rms = np.pad(rms[:n], (0, pad), mode="edge")
    c = chroma.reshape(12, steps, 4).mean(axis=2)
    c = c / np.maximum(c.max(axis=0, keepdims=True), 1e-6)
    r = rms.reshape(steps, 4).mean(axis=1)
    db = 20 * np.log10(np.maximum(r, 1e-9) / max(float(r.max()), 1e-9))
    loud = np.clip(1 + db / _FLOOR_DB, 0, 1)
    c = c * (loud > 0)  # chroma of silence is noise
    out = np.vstack([c, loud[None, :]]).T
    return np.round(out * 255).astype(np.uint8).tobytes()


def as_matrix(fp: bytes) -> np.ndarray:
    """A fingerprint as a (steps, 13) float array in [0, 1]."""
    return np.frombuffer(fp, dtype=np.uint8).reshape(-1, DIMS).astype(np.float32) / 255.0


def fingerprint_distance(a: bytes, b: bytes, max_shift_s: float = 1.0) -> float:
    """How unlike two fingerprints are: 0 = identical, 1 = unrelated. Sounds whose lengths
    differ by more than a fifth (and 0.3 s) are 1; otherwise the best mean per-step L1 distance (scaled
    to 0..1) over time shifts up to ``max_shift_s``."""
    A, B = as_matrix(a), as_matrix(b)
    la, lb = len(A), len(B)
    if min(la, lb) == 0 or abs(la - lb) > 0.2 * max(la, lb) + 3:  # codecs pad a few tenths
        return 1.0
    best = 1.0
    shift = int(round(max_shift_s / STEP_S))
    for s in range(-shift, shift + 1):
        x, y = (A[s:], B) if s >= 0 else (A, B[-s:])
        n = min(len(x), len(y))
        if n < max(1, 0.7 * min(la, lb) - 1):
            continue
        d = float(np.abs(x[:n] - y[:n]).mean()) * 2  # unrelated sounds score about 0.5 before scaling
        best = min(best, d)
    return round(min(1.0, best), 4)
