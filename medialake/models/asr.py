"""Speech recognition (``asr`` role): faster-whisper (CTranslate2) or transformers Whisper.

``SpeechRecognizer("whisper-base").transcribe(pcm)`` -> :class:`Transcript` with text, the
detected language, timed segments and (where the backend gives them) timed words. Which
backend runs is told from the model: a CTranslate2 directory (``model.bin``) or a
faster-whisper size name goes to faster-whisper, a transformers Whisper directory or an
``openai/whisper-*`` hub id to :class:`HFSpeechRecognizer`; ``backend=`` forces one.
faster-whisper can skip non-speech with its bundled Silero VAD (``vad_filter=True``).

:class:`AsrStage` is the ``asr`` role's model stage (an actor pool in the pipeline): it
fills ``transcript`` and ``language`` for rows that carry audio. Each row is one segment,
so the language is detected per segment. :class:`AsrOptions` are its typed options.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
from pydantic import Field

from medialake import arrow
from medialake.errors import ModelError
from medialake.models.registry import cached, check_device, pick_device, resolve, torch_dtype
from medialake.models.stage import ModelStage
from medialake.schema import WORDS
from medialake.settings import Frozen


@dataclass
class Transcript:
    """What was said: the text, the language detected, timed segments ``(start, end, text)``
    and, where the backend gives them, timed words ``{"word", "start", "end", "probability"}``
    (seconds from the start of the audio passed in)."""

    text: str
    language: str | None
    segments: list[tuple[float, float, str]] = field(default_factory=list)
    words: list[dict] = field(default_factory=list)


def backend_of(model: str) -> str:
    """``"faster-whisper"`` or ``"transformers"`` for the model called ``model``."""
    path = Path(resolve(model))
    if path.is_dir():
        if (path / "model.bin").is_file():
            return "faster-whisper"
        cfg = path / "config.json"
        if cfg.is_file() and json.loads(cfg.read_text()).get("model_type") == "whisper":
            return "transformers"
        raise ModelError(f"asr model directory {path} is neither a CTranslate2 Whisper (model.bin) nor a "
                         "transformers Whisper (config.json with model_type whisper)")
    return "transformers" if str(model).startswith("openai/") else "faster-whisper"


class SpeechRecognizer:
    """Whisper on faster-whisper; ``SpeechRecognizer.shared`` picks the backend for you."""

    def __init__(self, model: str = "whisper-base", device: str = "auto", compute_type: str = "int8",
                 cpu_threads: int = 0, beam_size: int = 1, vad_filter: bool = False,
                 word_timestamps: bool = False, language: str | None = None,
                 languages: tuple[str, ...] | None = None, seed: int = 0, num_workers: int = 1):
        from faster_whisper import WhisperModel

        self.device = check_device(device)
        ct = compute_type if self.device == "cpu" else "float16"
        # num_workers: CTranslate2 replicas, so that many threads transcribe at once (the
        # role's `threads`); each replica runs `cpu_threads` threads
        self.model = WhisperModel(resolve(model), device=self.device, compute_type=ct, cpu_threads=cpu_threads,
                                  num_workers=num_workers)
        self.beam_size = beam_size
        self.vad_filter = vad_filter
        self.word_timestamps = word_timestamps
        self.language = language
        self.languages = tuple(languages) if languages else None
        self.seed = seed

    def _language(self, pcm: np.ndarray) -> str | None:
        """The forced language, or the likeliest of ``languages`` (None: Whisper decides)."""
        if self.language or not self.languages or not self.model.model.is_multilingual:
            return self.language
        _, _, probs = self.model.detect_language(pcm, vad_filter=self.vad_filter)
        allowed = [(p, code) for code, p in probs if code in self.languages]
        return max(allowed)[1] if allowed else None

    @classmethod
    def shared(cls, model: str = "whisper-base", device: str = "auto", backend: str = "auto", **kw):
        """One recognizer per process per (model, device, options), on the right backend."""
        which = backend_of(model) if backend == "auto" else backend
        if which not in ("faster-whisper", "transformers"):
            raise ModelError(f"asr backend {backend!r} is unknown; use auto, faster-whisper or transformers")
        klass = cls if which == "faster-whisper" else HFSpeechRecognizer
        if klass is HFSpeechRecognizer:
            kw = {k: v for k, v in kw.items() if k in ("language", "max_new_tokens", "dtype")}
        else:
            kw = {k: v for k, v in kw.items() if k not in ("max_new_tokens", "dtype")}
            if kw.get("num_workers", 1) == 1:
                kw.pop("num_workers", None)  # the same cache key as before for one worker
        key = ("asr", which, model, pick_device(device), tuple(sorted(kw.items())))
        return cached(key, lambda: klass(model, device, **kw))

    def transcribe(self, pcm: np.ndarray, sample_rate: int = 16000) -> Transcript:
        """Transcribe ``pcm`` in its own language (never translated).

        Whisper decodes at temperature 0 and falls back to sampling at higher temperatures
        when the text loops or is improbable; the sampler is seeded with ``seed`` before
        every call, so the same audio always gives the same words (unseeded, 6 of 46
        segments changed between runs). The previous text is never used as a prompt.
        """
        import ctranslate2

        if sample_rate != 16000:
            raise ValueError("faster-whisper expects 16 kHz audio; decode.sample_rate must be 16000")
        ctranslate2.set_random_seed(self.seed)
        segments, info = self.model.transcribe(
            pcm, beam_size=self.beam_size, condition_on_previous_text=False,
            vad_filter=self.vad_filter, word_timestamps=self.word_timestamps, language=self._language(pcm),
            task="transcribe",
        )
        segs, words = [], []
        for s in segments:
            if not s.text.strip():
                continue
            segs.append((float(s.start), float(s.end), s.text.strip()))
            words.extend({"word": w.word.strip(), "start": round(float(w.start), 3), "end": round(float(w.end), 3),
                          "probability": round(float(w.probability), 4)}
                         for w in (s.words or []) if w.word.strip())
        text = " ".join(t for _, _, t in segs)
        return Transcript(text=text, language=info.language if segs else None, segments=segs, words=words)


class HFSpeechRecognizer:
    """Whisper through transformers (``WhisperForConditionalGeneration``), bf16/fp16 on GPU.

    Audio longer than 30 s is cut into 30 s pieces. Segment timestamps come from Whisper's
    timestamp tokens where the generation config knows them; the language from
    ``detect_language`` where the model is multilingual.
    """

    def __init__(self, model: str, device: str = "auto", language: str | None = None,
                 max_new_tokens: int = 128, dtype: str = "auto"):
        import torch
        from transformers import AutoProcessor, WhisperForConditionalGeneration

        self.device = check_device(device)
        path = resolve(model)
        try:
            self.processor = AutoProcessor.from_pretrained(path)
            self.model = WhisperForConditionalGeneration.from_pretrained(
                path, dtype=torch_dtype(self.device, dtype)).to(self.device).eval()
        except (OSError, ValueError) as e:
            raise ModelError(f"cannot load transformers Whisper {model!r} ({path}): {e}") from e
        self.language = language
        self.max_new_tokens = max_new_tokens
        gc = self.model.generation_config
        self.multilingual = bool(getattr(gc, "is_multilingual", False) and getattr(gc, "lang_to_id", None))
        self.timestamps = getattr(gc, "no_timestamps_token_id", None) is not None
        self._torch = torch

    def _detect(self, feats) -> str | None:
        if self.language or not self.multilingual:
            return self.language or (None if self.multilingual else "en")
        ids = self.model.detect_language(feats)
        tok = self.processor.tokenizer.convert_ids_to_tokens(int(ids.reshape(-1)[0]))
        return tok.strip("<|>") if tok else None

    def transcribe(self, pcm: np.ndarray, sample_rate: int = 16000) -> Transcript:
        if sample_rate != 16000:
            raise ValueError("Whisper expects 16 kHz audio; decode.sample_rate must be 16000")
        piece = 30 * sample_rate
        segs: list[tuple[float, float, str]] = []
        language = None
        for off in range(0, max(len(pcm), 1), piece):
            chunk = pcm[off : off + piece]
            feats = self.processor.feature_extractor(chunk, sampling_rate=sample_rate, return_tensors="pt")
            x = feats["input_features"].to(self.device, self.model.dtype)
            with self._torch.inference_mode():
                lang = self._detect(x)
                kw = {"max_new_tokens": self.max_new_tokens, "do_sample": False}
                if self.multilingual and lang:
                    kw.update(language=lang, task="transcribe")
                if self.timestamps:
                    kw["return_timestamps"] = True
                out = self.model.generate(x, **kw)
            ids = out.sequences if hasattr(out, "sequences") else out
            t0 = off / sample_rate
            segs.extend(self._segments(ids[0], t0, len(chunk) / sample_rate))
            language = language or lang
        segs = [s for s in segs if s[2]]
        return Transcript(text=" ".join(t for _, _, t in segs), language=language if segs else None, segments=segs)

    def _segments(self, ids, t0: float, dur: float) -> list[tuple[float, float, str]]:
        tok = self.processor.tokenizer
        if self.timestamps:
            try:
                dec = tok.decode(ids, skip_special_tokens=True, output_offsets=True)
                offs = dec.get("offsets") if isinstance(dec, dict) else None
                if offs:
                    return [(t0 + float(o["timestamp"][0]), t0 + float(o["timestamp"][1] or dur), o["text"].strip())
                            for o in offs]
            except (TypeError, KeyError):
                pass
        return [(t0, t0 + dur, tok.decode(ids, skip_special_tokens=True).strip())]


def is_silent(pcm: np.ndarray, threshold_db: float = -50.0) -> bool:
    if pcm.size == 0:
        return True
    rms = float(np.sqrt(np.mean(np.square(pcm, dtype=np.float64))))
    return 20 * np.log10(rms + 1e-12) < threshold_db


class AsrOptions(Frozen):
    """``asr.options``: how Whisper runs. faster-whisper takes all but ``max_new_tokens`` and
    ``dtype``; the transformers backend takes ``language``, ``max_new_tokens`` and ``dtype``."""

    backend: Literal["auto", "faster-whisper", "transformers"] = "auto"
    compute_type: str = Field("int8", description="CTranslate2 compute type on CPU (float16 is used on a GPU)")
    cpu_threads: int = Field(0, ge=0, description="CTranslate2 threads per actor (0: its default)")
    beam_size: int = Field(1, ge=1)
    vad_filter: bool = Field(False, description="skip non-speech inside a segment with the Silero VAD")
    word_timestamps: bool = Field(True, description="time every word (the `words` column; tight search moments)")
    language: str | None = Field(None, description="force a language code; null: detected per segment")
    languages: list[str] | None = Field(None, description="languages the archive holds (e.g. [en, cs, nl]): detection "
                                        "per segment picks among them; null: any of Whisper's 99")
    silence_db: float = Field(-50.0, description="segments quieter than this (RMS, dBFS) are not transcribed")
    max_new_tokens: int = Field(128, ge=1, description="transformers backend: tokens per 30 s piece")
    dtype: str = Field("auto", description="transformers backend: float32, bfloat16 or float16")


class AsrStage(ModelStage):
    """``audio`` (float32 PCM bytes) at ``start_s`` -> ``transcript``, ``language`` (detected
    per segment) and ``words`` (each word's times on the asset's timeline, and confidence)."""

    role = "asr"
    reads = ("audio", "start_s")
    writes = ("transcript", "language", "words")
    Options = AsrOptions
    gpu_share = 0.25

    def __init__(self, model: str = "whisper-base", **kw):
        super().__init__(model, **kw)
        o = self.options
        self.asr = SpeechRecognizer.shared(
            model, self.device, o.backend, compute_type=o.compute_type, cpu_threads=o.cpu_threads,
            beam_size=o.beam_size, vad_filter=o.vad_filter, word_timestamps=o.word_timestamps,
            language=o.language, languages=tuple(o.languages) if o.languages else None,
            max_new_tokens=o.max_new_tokens, dtype=o.dtype, num_workers=self.threads)

    def __call__(self, batch: pa.Table) -> pa.Table:
        texts: list[str | None] = []
        langs: list[str | None] = []
        words: list[list[dict] | None] = []
        starts = arrow.values(batch, "start_s")
        for audio, start in zip(arrow.values(batch, "audio"), starts):
            pcm = arrow.pcm(audio)
            if is_silent(pcm, self.options.silence_db):
                texts.append(None)
                langs.append(None)
                words.append(None)
                continue
            t = self.asr.transcribe(pcm)
            off = float(start or 0.0)
            texts.append(t.text or None)
            langs.append(t.language)
            words.append([{**w, "start": round(off + w["start"], 3), "end": round(off + w["end"], 3)}
                          for w in t.words] or None)
        batch = arrow.set_column(batch, "transcript", pa.array(texts, type=pa.string()))
        batch = arrow.set_column(batch, "words", pa.array(words, type=WORDS))
        return arrow.set_column(batch, "language", pa.array(langs, type=pa.string()))
