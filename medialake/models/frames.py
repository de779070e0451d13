"""Where the image roles (image_text, ocr, captioner) get their pictures from.

Today each segment carries one keyframe as the small JPEG in ``thumbnail``; when the
decoder ships a per-segment frames column, only :func:`segment_images` changes.
"""

from __future__ import annotations

import io

import pyarrow as pa
from PIL import Image

FRAME_COLUMN = "thumbnail"


def segment_images(batch: pa.Table) -> list[Image.Image | None]:
    """One RGB picture per row of ``batch`` (None where the row has none, e.g. audio)."""
    if FRAME_COLUMN not in batch.column_names:
        return [None] * batch.num_rows
    out: list[Image.Image | None] = []
    for raw in batch.column(FRAME_COLUMN).to_pylist():
        if not raw:
            out.append(None)
            continue
        try:
            with Image.open(io.BytesIO(raw)) as im:
                out.append(im.convert("RGB"))
        except Exception:  # an unreadable thumbnail is a row without a picture, not a crash
            out.append(None)
    return out
