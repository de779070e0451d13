"""Sentence embeddings (``text`` role) with any transformers encoder, mean-pooled.

``TextEncoder("all-MiniLM-L6-v2").encode(["a sentence"])`` -> float32 array (n, dim),
L2-normalised. :class:`TextEmbedStage` is the ``text`` role's model stage (an actor pool in
the pipeline): it joins a segment's texts into ``text`` and embeds it into ``text_vector``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from medialake import arrow
from medialake.models.registry import cached, pick_device, resolve
from medialake.models.stage import ModelStage


class TextEncoder:
    def __init__(self, model: str = "all-MiniLM-L6-v2", device: str = "auto", max_length: int = 256):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.device = pick_device(device)
        path = resolve(model)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        dtype = torch.float16 if self.device == "cuda" else torch.float32
        self.model = AutoModel.from_pretrained(path, dtype=dtype).to(self.device).eval()
        self.max_length = max_length
        self.dim = int(self.model.config.hidden_size)
        self._torch = torch

    @classmethod
    def shared(cls, model: str = "all-MiniLM-L6-v2", device: str = "auto") -> "TextEncoder":
        return cached(("text", model, pick_device(device)), lambda: cls(model, device))

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        torch = self._torch
        out = []
        with torch.inference_mode():
            for i in range(0, len(texts), batch_size):
                enc = self.tokenizer(texts[i : i + batch_size], padding=True, truncation=True,
                                     max_length=self.max_length, return_tensors="pt").to(self.device)
                hidden = self.model(**enc).last_hidden_state
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                pooled = torch.nn.functional.normalize(pooled.float(), dim=-1)
                out.append(pooled.cpu().numpy())
        if not out:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.concatenate(out).astype(np.float32, copy=False)


def combined_text(transcript: str | None, ocr: str | None = None, caption: str | None = None,
                  metadata: str | None = None) -> str | None:
    parts = [p.strip() for p in (transcript, ocr, caption, metadata) if p and p.strip()]
    return "\n".join(parts) if parts else None


class TextEmbedStage(ModelStage):
    """``transcript`` + ``ocr_text`` + ``caption`` + ``metadata_text`` (the file's own title,
    keywords, camera...) -> ``text`` (joined) and ``text_vector``."""

    role = "text"
    reads = ("transcript", "ocr_text", "caption", "metadata_text")
    writes = ("text", "text_vector")
    gpu_share = 0.1
    default_batch_size = 32
    light = True

    def __init__(self, model: str = "all-MiniLM-L6-v2", **kw):
        super().__init__(model, **kw)
        self.encoder = TextEncoder.shared(model, self.device)

    def __call__(self, batch: pa.Table) -> pa.Table:
        parts = [arrow.values(batch, name) for name in self.reads]
        texts = [combined_text(*row) for row in zip(*parts)]
        present = np.array([t is not None for t in texts], dtype=bool)
        vecs = self.encoder.encode([t for t in texts if t is not None], self.batch_size)
        batch = arrow.set_column(batch, "text", pa.array(texts, type=pa.string()))
        return arrow.set_column(batch, "text_vector", arrow.vector_column(vecs, present, self.encoder.dim))
