"""Audio and text in one space (``audio`` role): CLAP via transformers.

``AudioTextEncoder("laion/clap-htsat-unfused")`` -> ``encode_audio([pcm16k, ...])`` and
``encode_texts([...])``, L2-normalised float32 ``(n, dim)`` in one space, so "a dog
barking" ranks the stretch of audio with a dog in it. Audio arrives as 16 kHz mono float32
(what the decoder emits) and is resampled to the model's rate here; clips longer than the
model's window (10 s for CLAP) are cut to their first window, so results are deterministic.
``AudioEmbedder`` is the batch callable the pipeline runs as an actor: it fills
``audio_vector`` for rows that carry audio.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from medialake.errors import ModelError
from medialake.models.image_text import _features
from medialake.models.registry import cached, check_device, resolve, torch_dtype
from medialake.models.text import _set, vector_column


def resample(pcm: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Linear-interpolation resampling (enough for 16 -> 48 kHz upsampling)."""
    if src_rate == dst_rate or pcm.size == 0:
        return pcm.astype(np.float32, copy=False)
    n = int(round(len(pcm) * dst_rate / src_rate))
    x = np.linspace(0, len(pcm) - 1, n)
    return np.interp(x, np.arange(len(pcm)), pcm).astype(np.float32)


class AudioTextEncoder:
    """A CLAP-family audio/text dual encoder loaded once per (model, device, dtype)."""

    def __init__(self, model: str, device: str = "auto", dtype: str = "auto", max_length: int = 64):
        import torch
        from transformers import AutoFeatureExtractor, AutoModel, AutoTokenizer

        self.device = check_device(device)
        path = resolve(model)
        try:
            self.model = AutoModel.from_pretrained(path, dtype=torch_dtype(self.device, dtype)).to(self.device).eval()
            self.feature_extractor = AutoFeatureExtractor.from_pretrained(path)
            self.tokenizer = AutoTokenizer.from_pretrained(path)
        except (OSError, ValueError) as e:
            raise ModelError(f"cannot load audio model {model!r} ({path}): {e}; name a CLAP directory holding "
                             "config.json, weights, a tokenizer and preprocessor_config.json") from e
        if not hasattr(self.model, "get_audio_features"):
            raise ModelError(f"audio model {model!r} is a {type(self.model).__name__}, not an audio/text "
                             "encoder; use a CLAP model")
        self.rate = int(self.feature_extractor.sampling_rate)
        self.window = int(getattr(self.feature_extractor, "nb_max_samples", 10 * self.rate))
        audio_cfg = getattr(self.model.config, "audio_config", None)
        self.truncation = "fusion" if getattr(audio_cfg, "enable_fusion", False) else "rand_trunc"
        self.max_length = max_length
        self._torch = torch
        self.dim = int(self.encode_texts(["probe"]).shape[1])

    @classmethod
    def shared(cls, model: str, device: str = "auto", dtype: str = "auto") -> "AudioTextEncoder":
        return cached(("audio", model, check_device(device), dtype), lambda: cls(model, device, dtype))

    def _normalise(self, t) -> np.ndarray:
        t = self._torch.nn.functional.normalize(_features(t).float(), dim=-1)
        return t.cpu().numpy().astype(np.float32, copy=False)

    def encode_audio(self, clips: list[np.ndarray], sample_rate: int = 16000) -> np.ndarray:
        if not clips:
            return np.zeros((0, getattr(self, "dim", 0)), dtype=np.float32)
        waves = [resample(c, sample_rate, self.rate)[: self.window] for c in clips]
        feats = self.feature_extractor(waves, sampling_rate=self.rate, return_tensors="pt", truncation=self.truncation)
        inputs = {k: v.to(self.device) for k, v in feats.items()}
        inputs["input_features"] = inputs["input_features"].to(self.model.dtype)
        with self._torch.inference_mode():
            return self._normalise(self.model.get_audio_features(**inputs))

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, getattr(self, "dim", 0)), dtype=np.float32)
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        keep = {k: v.to(self.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
        with self._torch.inference_mode():
            return self._normalise(self.model.get_text_features(**keep))


class AudioEmbedder:
    """Batch callable: the segment's ``audio`` (16 kHz float32 PCM) -> ``audio_vector``."""

    def __init__(self, model: str, device: str = "auto", batch_size: int = 8, dtype: str = "auto",
                 sample_rate: int = 16000, **_: object):
        self.encoder = AudioTextEncoder.shared(model, device, dtype)
        self.batch_size = batch_size
        self.sample_rate = sample_rate

    def __call__(self, batch: pa.Table) -> pa.Table:
        raw = batch.column("audio").to_pylist() if "audio" in batch.column_names else [None] * batch.num_rows
        clips = [np.frombuffer(a, dtype=np.float32) if a else None for a in raw]
        present = np.array([c is not None and c.size > 0 for c in clips], dtype=bool)
        todo = [c for c, p in zip(clips, present) if p]
        parts = [self.encoder.encode_audio(todo[i : i + self.batch_size], self.sample_rate)
                 for i in range(0, len(todo), self.batch_size)]
        vecs = np.concatenate(parts) if parts else np.zeros((0, self.encoder.dim), np.float32)
        return _set(batch, "audio_vector", vector_column(vecs, present, self.encoder.dim))
