"""Images and text in one space (``image_text`` role): CLIP / SigLIP via transformers.

``ImageTextEncoder("openai/clip-vit-base-patch32")`` loads any dual encoder that
``AutoModel`` knows and that has ``get_image_features`` / ``get_text_features``; its
``encode_images`` and ``encode_texts`` return L2-normalised float32 arrays ``(n, dim)``
in the same space, so a text query ranks pictures. :class:`ImageEmbedStage` is the
``image_text`` role's model stage (an actor pool in the pipeline): it embeds every frame
decode sampled (``frames``, in batches across the rows), writes their mean, normalised,
to ``image_vector`` and, for video, each frame's time, small JPEG and vector to
``frame_rows`` (the fragment writer turns them into rows of the ``frames`` table, which
is what makes a visual moment second-accurate). A row without frames (decode sampled
none) is embedded from its ``thumbnail``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from PIL import Image
from pydantic import Field

from medialake import arrow, schema
from medialake.models.embedding import DualEncoder, EmbedStage, EncoderOptions
from medialake.models.frames import segment_frames
from medialake.operators.image import jpeg_thumbnail


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


class ImageEmbedOptions(EncoderOptions):
    """``image_text.options``: the weights' dtype and the frames table's thumbnails."""

    frame_thumbnail_px: int = Field(160, ge=0, le=1024,
                                    description="longest side of each frame's JPEG in the frames table (0: none)")


class ImageEmbedStage(EmbedStage):
    """The segment's frames (or its ``thumbnail``) -> ``image_vector`` (their pooled vector,
    null where there is no picture) and ``frame_rows`` (video: one entry per frame)."""

    role = "image_text"
    reads = ("frames", "frame_times", "thumbnail")
    writes = ("image_vector", "frame_rows")
    Options = ImageEmbedOptions
    gpu_share = 0.15
    default_batch_size = 16

    def __init__(self, model: str, **kw):
        super().__init__(model, **kw)
        self.encoder = ImageTextEncoder.shared(model, self.device, self.options.dtype)

    def encode(self, items: list) -> np.ndarray:
        return self.encoder.encode_images(items)

    def __call__(self, batch: pa.Table) -> pa.Table:
        pictures = segment_frames(batch, "frames", "thumbnail")
        flat = [im for pics in pictures for im in pics]
        parts = [self.encode(flat[i : i + self.batch_size]) for i in range(0, len(flat), self.batch_size)]
        vecs = np.concatenate(parts) if parts else np.zeros((0, self.encoder.dim), np.float32)
        dim = self.encoder.dim
        pooled = np.zeros((batch.num_rows, dim), np.float32)
        present = np.zeros(batch.num_rows, bool)
        frame_rows: list[list[dict] | None] = []
        times = arrow.values(batch, "frame_times")
        modality = arrow.values(batch, "modality")
        at = 0
        for i, pics in enumerate(pictures):
            mine = vecs[at : at + len(pics)]
            at += len(pics)
            if not len(pics):
                frame_rows.append(None)
                continue
            mean = mine.mean(axis=0)
            pooled[i] = mean / max(float(np.linalg.norm(mean)), 1e-12)
            present[i] = True
            ts = times[i] or []
            if modality[i] == "video" and len(ts) == len(pics):
                px = self.options.frame_thumbnail_px
                frame_rows.append([{"t_s": float(t), "thumbnail": jpeg_thumbnail(im, px, 75) if px else None,
                                    "vector": v.tolist()} for t, im, v in zip(ts, pics, mine)])
            else:
                frame_rows.append(None)
        batch = arrow.set_column(batch, "image_vector", arrow.vector_column(pooled[present], present, dim))
        return arrow.set_column(batch, "frame_rows", pa.array(frame_rows, type=schema.FRAME_ROWS))
