"""Sentence embeddings (``text`` role) with any transformers encoder, mean-pooled.

``TextEncoder("all-MiniLM-L6-v2").encode(["a sentence"])`` -> float32 array (n, dim),
L2-normalised. ``TextEmbedder`` is the batch callable the pipeline runs as an actor.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from medialake.models.registry import cached, pick_device, resolve


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


def combined_text(transcript: str | None, ocr: str | None = None, caption: str | None = None) -> str | None:
    parts = [p.strip() for p in (transcript, ocr, caption) if p and p.strip()]
    return "\n".join(parts) if parts else None


def vector_column(vectors: np.ndarray, present: np.ndarray, dim: int) -> pa.FixedSizeListArray:
    """Arrow fixed-size-list column with a null wherever ``present`` is false."""
    full = np.zeros((len(present), dim), dtype=np.float32)
    full[present] = vectors
    values = pa.array(full.reshape(-1), type=pa.float32())
    mask = pa.array(~present)
    return pa.FixedSizeListArray.from_arrays(values, dim, mask=mask)


class TextEmbedder:
    """Batch callable: fills ``text`` (transcript + OCR + caption) and ``text_vector``."""

    def __init__(self, model: str = "all-MiniLM-L6-v2", device: str = "auto", batch_size: int = 32, **_: object):
        self.encoder = TextEncoder.shared(model, device)
        self.batch_size = batch_size

    def __call__(self, batch: pa.Table) -> pa.Table:
        cols = {name: batch.column(name).to_pylist() if name in batch.column_names else [None] * batch.num_rows
                for name in ("transcript", "ocr_text", "caption")}
        texts = [combined_text(t, o, c) for t, o, c in zip(cols["transcript"], cols["ocr_text"], cols["caption"])]
        present = np.array([t is not None for t in texts], dtype=bool)
        vecs = self.encoder.encode([t for t in texts if t is not None], self.batch_size)
        batch = _set(batch, "text", pa.array(texts, type=pa.string()))
        return _set(batch, "text_vector", vector_column(vecs, present, self.encoder.dim))


def _set(table: pa.Table, name: str, column: pa.Array) -> pa.Table:
    if name in table.column_names:
        return table.set_column(table.column_names.index(name), name, column)
    return table.append_column(name, column)
