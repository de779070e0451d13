"""Pictures for the image roles (image_text, ocr, captioner), from a JPEG column.

Each stage names the column it reads in its declaration (``reads``); today that is the
segment's small JPEG ``thumbnail``.
"""

from __future__ import annotations

import io

import pyarrow as pa
from PIL import Image

from medialake import arrow


def segment_images(batch: pa.Table, column: str) -> list[Image.Image | None]:
    """One RGB picture per row of ``batch`` from the JPEG bytes in ``column`` (None where
    the row has none, e.g. audio, or where they cannot be decoded)."""
    out: list[Image.Image | None] = []
    for raw in arrow.values(batch, column):
        if not raw:
            out.append(None)
            continue
        try:
            with Image.open(io.BytesIO(raw)) as im:
                out.append(im.convert("RGB"))
        except Exception:  # an unreadable thumbnail is a row without a picture, not a crash
            out.append(None)
    return out
