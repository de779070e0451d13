"""Audio and text in one space (``audio`` role): CLAP via transformers.

``AudioTextEncoder("laion/clap-htsat-unfused")`` -> ``encode_audio([pcm16k, ...])`` and
``encode_texts([...])``, L2-normalised float32 ``(n, dim)`` in one space, so "a dog
barking" ranks the stretch of audio with a dog in it. Audio arrives as 16 kHz mono float32
(what the decoder emits) and is resampled to the model's rate here; clips longer than the
model's window (10 s for CLAP) are cut to their first window, so results are deterministic.
:class:`AudioEmbedStage` is the ``audio`` role's model stage (an actor pool in the
pipeline): it fills ``audio_vector`` for rows that carry audio.
"""

from __future__ import annotations

import numpy as np

from medialake import arrow
from medialake.models.clap_features import ClapFeatures
from medialake.models.embedding import DualEncoder, EmbedStage


def resample(pcm: np.ndarray, src_rate: int, dst_rate: int) -> np.ndarray:
    """Linear-interpolation resampling (enough for 16 -> 48 kHz upsampling)."""
    if src_rate == dst_rate or pcm.size == 0:
        return pcm.astype(np.float32, copy=False)
    n = int(round(len(pcm) * dst_rate / src_rate))
    x = np.linspace(0, len(pcm) - 1, n)
    return np.interp(x, np.arange(len(pcm)), pcm).astype(np.float32)


class AudioTextEncoder(DualEncoder):
    """A CLAP-family audio/text dual encoder loaded once per (model, device, dtype)."""

    kind = "audio"
    processor_class = "AutoFeatureExtractor"
    feature_method = "get_audio_features"
    family = "CLAP"
    pair = "audio/text"

    def __init__(self, model: str, device: str = "auto", dtype: str = "auto", max_length: int = 64):
        super().__init__(model, device, dtype, max_length)
        self.rate = int(self.processor.sampling_rate)
        self.window = int(getattr(self.processor, "nb_max_samples", 10 * self.rate))
        audio_cfg = getattr(self.model.config, "audio_config", None)
        self.truncation = "fusion" if getattr(audio_cfg, "enable_fusion", False) else "rand_trunc"
        self.features = ClapFeatures(self.processor) if ClapFeatures.fits(self.processor) else self.processor

    @property
    def feature_extractor(self):
        return self.processor

    def encode_audio(self, clips: list[np.ndarray], sample_rate: int = 16000) -> np.ndarray:
        if not clips:
            return self._empty()
        waves = [resample(c, sample_rate, self.rate)[: self.window] for c in clips]
        feats = self.features(waves, sampling_rate=self.rate, return_tensors="pt", truncation=self.truncation)
        inputs = {k: v.to(self.device) for k, v in feats.items()}
        inputs["input_features"] = inputs["input_features"].to(self.model.dtype)
        return self._features(**inputs)


class AudioEmbedStage(EmbedStage):
    """The segment's ``audio`` (float32 PCM at ``decode.sample_rate``) -> ``audio_vector``."""

    role = "audio"
    reads = ("audio",)
    writes = ("audio_vector",)
    gpu_share = 0.15
    decode_settings = ("sample_rate",)

    def __init__(self, model: str, *, sample_rate: int = 16000, **kw):
        super().__init__(model, **kw)
        self.encoder = AudioTextEncoder.shared(model, self.device, self.options.dtype)
        self.sample_rate = sample_rate

    def inputs(self, batch) -> list:
        clips = [arrow.pcm(a) for a in arrow.values(batch, self.reads[0])]
        return [c if c.size else None for c in clips]

    def encode(self, items: list) -> np.ndarray:
        return self.encoder.encode_audio(items, self.sample_rate)
