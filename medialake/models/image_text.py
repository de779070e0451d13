"""Images and text in one space (``image_text`` role): CLIP / SigLIP via transformers.

``ImageTextEncoder("openai/clip-vit-base-patch32")`` loads any dual encoder that
``AutoModel`` knows and that has ``get_image_features`` / ``get_text_features``; its
``encode_images`` and ``encode_texts`` return L2-normalised float32 arrays ``(n, dim)``
in the same space, so a text query ranks pictures. :class:`ImageEmbedStage` is the
``image_text`` role's model stage (an actor pool in the pipeline): it fills
``image_vector`` for rows with a picture.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from medialake.models.embedding import DualEncoder, EmbedStage
from medialake.models.frames import segment_images


class ImageTextEncoder(DualEncoder):
    """A CLIP/SigLIP-family dual encoder loaded once per (model, device, dtype)."""

    kind = "image_text"
    processor_class = "AutoImageProcessor"
    feature_method = "get_image_features"
    family = "CLIP/SigLIP"
    pair = "image/text"

    @property
    def image_processor(self):
        return self.processor

    @property
    def _siglip(self) -> bool:
        return self.model_type.startswith("siglip")

    def _text_inputs(self, texts: list[str]) -> dict:
        padding = "max_length" if self._siglip else True
        enc = self.tokenizer(texts, padding=padding, truncation=True, max_length=self.max_length, return_tensors="pt")
        keep = {k: v.to(self.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
        if self._siglip:
            keep.pop("attention_mask", None)  # SigLIP was trained without a text attention mask
        return keep

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        if not images:
            return self._empty()
        px = self.processor(images=images, return_tensors="pt")["pixel_values"].to(self.device, self.model.dtype)
        return self._features(pixel_values=px)


class ImageEmbedStage(EmbedStage):
    """The segment's picture (``thumbnail``) -> ``image_vector`` (null where there is none)."""

    role = "image_text"
    reads = ("thumbnail",)
    writes = ("image_vector",)
    gpu_share = 0.15
    default_batch_size = 16

    def __init__(self, model: str, **kw):
        super().__init__(model, **kw)
        self.encoder = ImageTextEncoder.shared(model, self.device, self.options.dtype)

    def inputs(self, batch) -> list:
        return segment_images(batch, self.reads[0])

    def encode(self, items: list) -> np.ndarray:
        return self.encoder.encode_images(items)
