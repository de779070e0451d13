"""Images and text in one space (``image_text`` role): CLIP / SigLIP via transformers.

``ImageTextEncoder("openai/clip-vit-base-patch32")`` loads any dual encoder that
``AutoModel`` knows and that has ``get_image_features`` / ``get_text_features``; its
``encode_images`` and ``encode_texts`` return L2-normalised float32 arrays ``(n, dim)``
in the same space, so a text query ranks pictures. ``ImageEmbedder`` is the batch
callable the pipeline runs as an actor: it fills ``image_vector`` for rows with a picture.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from PIL import Image

from medialake.errors import ModelError
from medialake.models.frames import segment_images
from medialake.models.registry import cached, check_device, resolve, torch_dtype
from medialake.models.text import _set, vector_column


def _features(out):
    """transformers 5 returns a model output whose ``pooler_output`` is the projection."""
    if hasattr(out, "pooler_output") and not hasattr(out, "shape"):
        return out.pooler_output
    return out


class ImageTextEncoder:
    """A CLIP/SigLIP-family dual encoder loaded once per (model, device, dtype)."""

    def __init__(self, model: str, device: str = "auto", dtype: str = "auto", max_length: int = 64):
        import torch
        from transformers import AutoImageProcessor, AutoModel, AutoTokenizer

        self.device = check_device(device)
        path = resolve(model)
        try:
            self.model = AutoModel.from_pretrained(path, dtype=torch_dtype(self.device, dtype)).to(self.device).eval()
            self.image_processor = AutoImageProcessor.from_pretrained(path)
            self.tokenizer = AutoTokenizer.from_pretrained(path)
        except (OSError, ValueError) as e:
            raise ModelError(f"cannot load image_text model {model!r} ({path}): {e}; name a CLIP/SigLIP "
                             "directory holding config.json, weights, a tokenizer and preprocessor_config.json") from e
        if not hasattr(self.model, "get_image_features"):
            raise ModelError(f"image_text model {model!r} is a {type(self.model).__name__}, not a dual image/text "
                             "encoder; use a CLIP or SigLIP model")
        self.model_type = getattr(self.model.config, "model_type", "")
        self.max_length = max_length
        self._torch = torch
        self.dim = int(self.encode_texts(["probe"]).shape[1])

    @classmethod
    def shared(cls, model: str, device: str = "auto", dtype: str = "auto") -> "ImageTextEncoder":
        return cached(("image_text", model, check_device(device), dtype), lambda: cls(model, device, dtype))

    def _normalise(self, t) -> np.ndarray:
        t = self._torch.nn.functional.normalize(_features(t).float(), dim=-1)
        return t.cpu().numpy().astype(np.float32, copy=False)

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, getattr(self, "dim", 0)), dtype=np.float32)
        inputs = self.image_processor(images=images, return_tensors="pt")
        px = inputs["pixel_values"].to(self.device, self.model.dtype)
        with self._torch.inference_mode():
            return self._normalise(self.model.get_image_features(pixel_values=px))

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, getattr(self, "dim", 0)), dtype=np.float32)
        padding = "max_length" if self.model_type.startswith("siglip") else True
        enc = self.tokenizer(texts, padding=padding, truncation=True, max_length=self.max_length, return_tensors="pt")
        keep = {k: v.to(self.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
        if self.model_type.startswith("siglip"):
            keep.pop("attention_mask", None)  # SigLIP was trained without a text attention mask
        with self._torch.inference_mode():
            return self._normalise(self.model.get_text_features(**keep))


class ImageEmbedder:
    """Batch callable: the segment's picture -> ``image_vector`` (null where there is none)."""

    def __init__(self, model: str, device: str = "auto", batch_size: int = 16, dtype: str = "auto", **_: object):
        self.encoder = ImageTextEncoder.shared(model, device, dtype)
        self.batch_size = batch_size

    def __call__(self, batch: pa.Table) -> pa.Table:
        images = segment_images(batch)
        present = np.array([im is not None for im in images], dtype=bool)
        todo = [im for im in images if im is not None]
        parts = [self.encoder.encode_images(todo[i : i + self.batch_size]) for i in range(0, len(todo), self.batch_size)]
        vecs = np.concatenate(parts) if parts else np.zeros((0, self.encoder.dim), np.float32)
        return _set(batch, "image_vector", vector_column(vecs, present, self.encoder.dim))
