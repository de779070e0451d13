"""Decode still images with PyAV (EXIF orientation applied) and make JPEG thumbnails."""

from __future__ import annotations

import io

import av
from PIL import Image, ImageOps

from medialake.errors import DecodeError


def jpeg_thumbnail(img: Image.Image, max_px: int, quality: int = 80) -> bytes:
    """Shrink ``img`` so its longest side is at most ``max_px`` and encode it as JPEG."""
    img = img.convert("RGB")
    img.thumbnail((max_px, max_px), Image.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def decode_image(container: av.container.InputContainer, max_pixels: int) -> Image.Image:
    """Decode the first frame of an image file as a PIL image, upright."""
    if not container.streams.video:
        raise DecodeError("no image stream")
    cc = container.streams.video[0].codec_context
    if cc.width and cc.height and cc.width * cc.height > max_pixels:
        raise DecodeError(
            f"image is {cc.width}x{cc.height} = {cc.width * cc.height} pixels, over the limit of "
            f"{max_pixels} (decode.max_image_pixels); raise the limit if the file is trusted"
        )
    for frame in container.decode(video=0):
        img = frame.to_image()
        rotation = getattr(frame, "rotation", 0) or 0
        if rotation:
            img = img.rotate(rotation, expand=True)
        return img
    raise DecodeError("image stream holds no frame")


def apply_exif(img: Image.Image, raw: bytes) -> Image.Image:
    """Apply the EXIF orientation found in the file bytes (PyAV does not read EXIF)."""
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            orientation = probe.getexif().get(0x0112, 1)
    except Exception:
        return img
    if orientation in (1, None):
        return img
    fake = img.copy()
    fake.getexif()[0x0112] = orientation
    return ImageOps.exif_transpose(fake)
