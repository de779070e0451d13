"""Pictures for the image roles (image_text, ocr, captioner), from a JPEG column.

Each stage names the columns it reads in its declaration (``reads``): the segment's small
JPEG ``thumbnail``, the frames decode sampled (``frames``, 224 px) or the same frames
larger for OCR (``ocr_frames``).
"""

from __future__ import annotations

import io

import pyarrow as pa
from PIL import Image

from medialake import arrow


def decode_jpeg(raw: bytes | None) -> Image.Image | None:
    """The RGB picture in ``raw`` (None for no bytes, or bytes that do not decode)."""
    if not raw:
        return None
    try:
        with Image.open(io.BytesIO(raw)) as im:
            return im.convert("RGB")
    except Exception:  # an unreadable picture is a row without a picture, not a crash
        return None


def decode_jpegs(raws: list[bytes | None]) -> list[Image.Image | None]:
    return [decode_jpeg(r) for r in raws]


def segment_images(batch: pa.Table, column: str) -> list[Image.Image | None]:
    """One RGB picture per row of ``batch`` from the JPEG bytes in ``column`` (None where
    the row has none, e.g. audio, or where they cannot be decoded)."""
    return [decode_jpeg(raw) for raw in arrow.values(batch, column)]


def segment_frames(batch: pa.Table, column: str = "frames", fallback: str | None = "thumbnail",
                   limit: int = 0) -> list[list[Image.Image]]:
    """Per row of ``batch``, the pictures in the list column ``column`` (at most ``limit``
    of them, spread evenly, when ``limit`` > 0); a row without any gets its ``fallback``
    picture, or none."""
    backs = segment_images(batch, fallback) if fallback else [None] * batch.num_rows
    out = []
    for raws, back in zip(arrow.values(batch, column), backs):
        raws = list(raws or [])
        if limit and len(raws) > limit:
            raws = [raws[round(i * (len(raws) - 1) / (limit - 1))] for i in range(limit)] if limit > 1 else \
                [raws[len(raws) // 2]]
        pics = [im for im in decode_jpegs(raws) if im is not None]
        out.append(pics or ([back] if back is not None else []))
    return out


def grid(pictures: list[Image.Image], cell_px: int | None = None) -> Image.Image:
    """Tile ``pictures`` (in reading order) into one picture, as near square as they go: 2
    side by side, 3-4 in 2x2, 5-6 in 3x2, ... Each cell is the first picture's size (or
    ``cell_px`` wide, keeping its aspect), pictures fitted inside on black. One picture is
    returned as it is. This is how a one-image vision-language model sees several frames.
    """
    import math

    if len(pictures) == 1:
        return pictures[0]
    cols = math.ceil(math.sqrt(len(pictures)))
    rows = math.ceil(len(pictures) / cols)
    w, h = pictures[0].size
    if cell_px:
        w, h = cell_px, max(1, round(cell_px * h / w))
    out = Image.new("RGB", (cols * w, rows * h))
    for i, im in enumerate(pictures):
        cell = im.copy()
        cell.thumbnail((w, h), Image.BILINEAR)
        x, y = (i % cols) * w + (w - cell.width) // 2, (i // cols) * h + (h - cell.height) // 2
        out.paste(cell, (x, y))
    return out
