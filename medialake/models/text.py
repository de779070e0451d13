"""Sentence embeddings (``text`` role) with any transformers encoder, mean-pooled.

``TextEncoder("all-MiniLM-L6-v2").encode(["a sentence"])`` -> float32 array (n, dim),
L2-normalised; on CPU it runs on onnxruntime (:mod:`medialake.models.text_onnx`, no torch in
the process), on CUDA on torch (``text.options.backend``). :class:`TextEmbedStage` is the
``text`` role's model stage (an actor pool in the pipeline): it joins a segment's texts into
``text`` and embeds it into ``text_vector``.
"""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import pyarrow as pa
from pydantic import Field

from medialake import arrow
from medialake.errors import ModelError
from medialake.models.registry import cached, pick_device, resolve
from medialake.models.stage import ModelStage
from medialake.settings import Frozen

log = logging.getLogger(__name__)


class TextOptions(Frozen):
    """``text.options``: which runtime runs the encoder (both write the same vectors, cos >= 0.999)."""

    backend: Literal["auto", "onnx", "torch"] = Field(
        "auto", description="auto: onnxruntime on CPU (no torch in the process; the graph is exported once "
                            "into the cache when the model ships none), torch on CUDA or where the model has no "
                            "tokenizer.json or cannot be exported; onnx or torch: that one, or an error")
    threads: int = Field(0, ge=0, description="onnxruntime intra-op threads (0: OMP_NUM_THREADS, which Ray sets "
                                              "from the actor's num_cpus, else every core)")


class TextEncoder:
    """Mean-pooled, L2-normalised sentence embeddings of a BERT-like encoder.

    ``backend`` (:class:`TextOptions`): ``onnx`` runs :class:`~medialake.models.text_onnx.OnnxTextModel`
    (onnxruntime + tokenizers, CPU only), ``torch`` the transformers model, ``auto`` onnx on
    CPU and torch on CUDA, falling back to torch when the onnx path cannot load the model.
    """

    def __init__(self, model: str = "all-MiniLM-L6-v2", device: str = "auto", max_length: int = 256,
                 backend: str = "auto", threads: int = 0):
        self.device = pick_device(device)
        path = resolve(model)
        if backend == "onnx" and self.device != "cpu":
            raise ModelError(f"text backend onnx runs on CPU only, but device is {self.device!r}; "
                             "set text.device: cpu or text.options.backend: torch (or auto)")
        if backend not in ("auto", "onnx", "torch"):
            raise ModelError(f"unknown text backend {backend!r}; use auto, onnx or torch")
        self.impl = None
        if backend == "onnx" or (backend == "auto" and self.device == "cpu"):
            try:
                from medialake.models.text_onnx import OnnxTextModel

                self.impl = OnnxTextModel(path, max_length, threads)
            except ModelError as e:
                if backend == "onnx":
                    raise
                log.warning("text model %s: onnx backend unavailable (%s); using torch", model, e)
        if self.impl is None:
            self.impl = _TorchTextModel(path, self.device, max_length)
        self.backend = "onnx" if type(self.impl).__name__ == "OnnxTextModel" else "torch"
        self.dim = int(self.impl.dim)

    @classmethod
    def shared(cls, model: str = "all-MiniLM-L6-v2", device: str = "auto", backend: str = "auto",
               threads: int = 0) -> "TextEncoder":
        return cached(("text", model, pick_device(device), backend, threads),
                      lambda: cls(model, device, backend=backend, threads=threads))

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        out = [self.impl.encode_batch(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
        if not out:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.concatenate(out).astype(np.float32, copy=False)


class _TorchTextModel:
    """The transformers encoder on torch (CPU fp32, CUDA fp16)."""

    def __init__(self, path: str, device: str, max_length: int):
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.device = device
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        dtype = torch.float16 if device == "cuda" else torch.float32
        self.model = AutoModel.from_pretrained(path, dtype=dtype).to(device).eval()
        self.max_length = max_length
        self.dim = int(self.model.config.hidden_size)
        self._torch = torch

    def encode_batch(self, texts: list[str]) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length,
                                 return_tensors="pt").to(self.device)
            hidden = self.model(**enc).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled.float(), dim=-1).cpu().numpy()


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
    Options = TextOptions
    gpu_share = 0.1
    default_batch_size = 32
    light = True

    def __init__(self, model: str = "all-MiniLM-L6-v2", **kw):
        super().__init__(model, **kw)
        self.encoder = TextEncoder.shared(model, self.device, self.options.backend, self.options.threads)

    def __call__(self, batch: pa.Table) -> pa.Table:
        parts = [arrow.values(batch, name) for name in self.reads]
        texts = [combined_text(*row) for row in zip(*parts)]
        present = np.array([t is not None for t in texts], dtype=bool)
        vecs = self.encoder.encode([t for t in texts if t is not None], self.batch_size)
        batch = arrow.set_column(batch, "text", pa.array(texts, type=pa.string()))
        return arrow.set_column(batch, "text_vector", arrow.vector_column(vecs, present, self.encoder.dim))
