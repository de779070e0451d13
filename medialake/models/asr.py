"""Speech recognition (``asr`` role) with faster-whisper on CTranslate2 weights.

``SpeechRecognizer("whisper-tiny.en").transcribe(pcm)`` -> ``Transcript`` with text,
language and timed segments. ``Transcriber`` is the batch callable the pipeline runs as
an actor: it fills ``transcript`` and ``language`` for rows that carry audio.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from medialake.models.registry import cached, pick_device, resolve
from medialake.models.text import _set


@dataclass
class Transcript:
    text: str
    language: str | None
    segments: list[tuple[float, float, str]] = field(default_factory=list)


class SpeechRecognizer:
    def __init__(self, model: str = "whisper-tiny.en", device: str = "auto", compute_type: str = "int8",
                 cpu_threads: int = 0, beam_size: int = 1):
        from faster_whisper import WhisperModel

        self.device = pick_device(device)
        ct = compute_type if self.device == "cpu" else "float16"
        self.model = WhisperModel(resolve(model), device=self.device, compute_type=ct, cpu_threads=cpu_threads)
        self.beam_size = beam_size

    @classmethod
    def shared(cls, model: str = "whisper-tiny.en", device: str = "auto", **kw) -> "SpeechRecognizer":
        return cached(("asr", model, pick_device(device), tuple(sorted(kw.items()))), lambda: cls(model, device, **kw))

    def transcribe(self, pcm: np.ndarray, sample_rate: int = 16000) -> Transcript:
        if sample_rate != 16000:
            raise ValueError("faster-whisper expects 16 kHz audio; decode.sample_rate must be 16000")
        segments, info = self.model.transcribe(
            pcm, beam_size=self.beam_size, condition_on_previous_text=False, vad_filter=False,
        )
        segs = [(float(s.start), float(s.end), s.text.strip()) for s in segments if s.text.strip()]
        text = " ".join(t for _, _, t in segs)
        return Transcript(text=text, language=info.language if segs else None, segments=segs)


def is_silent(pcm: np.ndarray, threshold_db: float = -50.0) -> bool:
    if pcm.size == 0:
        return True
    rms = float(np.sqrt(np.mean(np.square(pcm, dtype=np.float64))))
    return 20 * np.log10(rms + 1e-12) < threshold_db


class Transcriber:
    """Batch callable: ``audio`` (float32 PCM bytes) -> ``transcript``, ``language``."""

    def __init__(self, model: str = "whisper-tiny.en", device: str = "auto", compute_type: str = "int8",
                 cpu_threads: int = 0, beam_size: int = 1, silence_db: float = -50.0, **_: object):
        self.asr = SpeechRecognizer.shared(model, device, compute_type=compute_type,
                                           cpu_threads=cpu_threads, beam_size=beam_size)
        self.silence_db = silence_db

    def __call__(self, batch: pa.Table) -> pa.Table:
        texts: list[str | None] = []
        langs: list[str | None] = []
        for audio in batch.column("audio").to_pylist():
            pcm = np.frombuffer(audio, dtype=np.float32) if audio else np.zeros(0, np.float32)
            if is_silent(pcm, self.silence_db):
                texts.append(None)
                langs.append(None)
                continue
            t = self.asr.transcribe(pcm)
            texts.append(t.text or None)
            langs.append(t.language)
        batch = _set(batch, "transcript", pa.array(texts, type=pa.string()))
        return _set(batch, "language", pa.array(langs, type=pa.string()))
