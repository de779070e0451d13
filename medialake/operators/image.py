"""Decode still and animated images upright, in RGB, with a decompression-bomb guard.

PIL reads the header first, so the pixel-count guard fires before any pixel is decoded.
EXIF orientation is applied; CMYK, grey, 16-bit, palette and alpha images come out as
RGB (alpha composited on white). Animated GIF/WebP give their frames spread over the
animation. Formats PIL does not know fall back to PyAV.
"""

from __future__ import annotations

import io
import warnings

import av
from PIL import Image, ImageOps

from medialake.errors import DecodeError
from medialake.operators.sources import open_input


def jpeg_thumbnail(img: Image.Image, max_px: int, quality: int = 80) -> bytes:
    """Shrink ``img`` so its longest side is at most ``max_px`` and encode it as JPEG
    (``img`` itself is left as it is: other frames may be cut from it)."""
    rgb = to_rgb(img)
    img = rgb.copy() if rgb is img else rgb
    img.thumbnail((max_px, max_px), Image.BILINEAR)
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def to_rgb(img: Image.Image) -> Image.Image:
    """RGB view of any PIL mode: alpha is composited over white, 16-bit grey is scaled."""
    if img.mode == "RGB":
        return img
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        img = img.point(lambda v: v / 256).convert("L")
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        bg = Image.new("RGB", rgba.size, (255, 255, 255))
        bg.paste(rgba, mask=rgba.getchannel("A"))
        return bg
    return img.convert("RGB")


def _guard(uri: str, width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise DecodeError(
            f"{uri}: image is {width}x{height} = {width * height} pixels, over the limit of "
            f"{max_pixels} (decode.max_image_pixels); raise the limit if the file is trusted"
        )


def _register_heif() -> None:
    """Teach PIL HEIC/HEIF (phone photos: tiled HEVC stills, cropped, rotated) via pillow-heif.
    Without it those files fall through to PyAV, which shows tiles and padding, not the photo."""
    global _HEIF
    if _HEIF is None:
        try:
            from pillow_heif import register_heif_opener

            register_heif_opener()
            _HEIF = True
        except ImportError:
            _HEIF = False


_HEIF: bool | None = None
HEIF_EXTENSIONS = (".heic", ".heif", ".hif")


def decode_image_file(uri: str, max_pixels: int, max_frames: int = 1,
                      on_open=None) -> tuple[list[Image.Image], float]:
    """Decode ``uri`` into upright RGB frames (one for stills, up to ``max_frames`` for animations).

    Returns ``(frames, animation_seconds)``; raises :class:`DecodeError` naming the file.
    ``on_open(img)``, if given, is called with the opened PIL image before its pixels are
    decoded (the metadata reader); what it raises is not caught here.
    """
    _register_heif()
    if not _HEIF and uri.lower().split("?")[0].endswith(HEIF_EXTENSIONS):
        raise DecodeError(f"{uri}: HEIC/HEIF image, and the pillow-heif package that decodes it is not "
                          f"installed; pip install pillow-heif")
    with open_input(uri) as src:
        f = open(src, "rb") if isinstance(src, str) else src
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                old = Image.MAX_IMAGE_PIXELS
                Image.MAX_IMAGE_PIXELS = None  # our guard below is the one that applies
                try:
                    img = Image.open(f)
                finally:
                    Image.MAX_IMAGE_PIXELS = old
                _guard(uri, img.width, img.height, max_pixels)
                if on_open is not None:
                    on_open(img)
                n = getattr(img, "n_frames", 1) or 1
                if n > 1 and n * img.width * img.height > 64 * max_pixels:
                    raise DecodeError(
                        f"{uri}: animation of {n} frames of {img.width}x{img.height} is over 64 x "
                        f"decode.max_image_pixels ({max_pixels}); raise the limit if the file is trusted")
                picks = [0] if n == 1 or max_frames <= 1 else sorted({round(i * (n - 1) / (max_frames - 1)) for i in range(max_frames)})
                frames, total_ms = [], 0.0
                for i in range(n):
                    img.seek(i)
                    if n > 1:
                        img.load()  # WebP fills in a frame's duration only once it is decoded
                    total_ms += float(img.info.get("duration", 0) or 0) if n > 1 else 0.0
                    if i in picks:
                        img.load()
                        frames.append(to_rgb(ImageOps.exif_transpose(img.copy()) or img.copy()))
                return frames, total_ms / 1000.0
        except DecodeError:
            raise
        except Image.UnidentifiedImageError:
            pass  # not a format PIL knows: try PyAV below
        except (OSError, ValueError, SyntaxError, EOFError) as e:
            raise DecodeError(f"{uri}: cannot decode image ({e}); the file may be truncated or damaged") from e
        finally:
            if isinstance(src, str):
                f.close()
    return [_decode_with_pyav(uri, max_pixels)], 0.0


def _decode_with_pyav(uri: str, max_pixels: int) -> Image.Image:
    from medialake.operators.probe import open_container

    with open_container(uri) as c:
        return decode_image(c, max_pixels, uri)


def decode_image(container: av.container.InputContainer, max_pixels: int, uri: str = "image") -> Image.Image:
    """Decode the first frame of an image container with PyAV, upright."""
    if not container.streams.video:
        raise DecodeError(f"{uri}: no image stream; is it an image file?")
    cc = container.streams.video[0].codec_context
    if cc.width and cc.height:
        _guard(uri, cc.width, cc.height, max_pixels)
    try:
        for frame in container.decode(video=0):
            img = frame.to_image()
            rotation = getattr(frame, "rotation", 0) or 0
            return img.rotate(rotation, expand=True) if rotation else img
    except av.error.FFmpegError as e:
        raise DecodeError(f"{uri}: cannot decode image ({e})") from e
    raise DecodeError(f"{uri}: image stream holds no frame")
