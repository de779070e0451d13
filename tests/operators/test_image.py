"""Images: EXIF orientation, colour modes, animation, formats, decompression-bomb guard."""

import io

import numpy as np
import pytest
from PIL import Image

from corpus import png_header
from medialake.errors import DecodeError
from medialake.operators.decode import decode_file
from medialake.pipelines.config import DecodeConfig

CFG = DecodeConfig(frames_per_segment=4, frame_px=32, thumbnail_px=64)


def record(path):
    return {"asset_id": "i1", "uri": str(path), "media_type": "image", "size": path.stat().st_size, "mtime": None}


def thumb(row):
    return Image.open(io.BytesIO(row["thumbnail"])).convert("RGB")


def test_exif_orientation_is_applied(tmp_path):
    img = Image.new("RGB", (80, 40), (200, 0, 0))
    img.paste((0, 0, 200), (0, 0, 40, 40))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 clockwise to display
    path = tmp_path / "phone.jpg"
    img.save(path, exif=exif.tobytes(), quality=95)
    row = decode_file(record(path), CFG)[0]
    assert (row["width"], row["height"]) == (40, 80)
    t = np.asarray(thumb(row))
    assert t[2, t.shape[1] // 2][2] > 150  # blue ends up on top


@pytest.mark.parametrize("mode,ext", [("CMYK", "jpg"), ("L", "png"), ("I;16", "png"), ("RGBA", "png"), ("P", "gif"),
                                      ("RGB", "bmp"), ("RGB", "tiff"), ("RGB", "webp"), ("LA", "png"), ("1", "bmp")])
def test_colour_modes_and_formats_come_out_rgb(tmp_path, mode, ext):
    base = Image.new("RGB", (48, 32), (30, 160, 90))
    img = base.convert(mode) if mode not in ("I;16",) else Image.fromarray(np.full((32, 48), 40000, dtype=np.uint16))
    if mode == "RGBA":
        img.paste((0, 0, 0, 0), (0, 0, 24, 32))  # left half fully transparent
    path = tmp_path / f"img.{ext}"
    img.save(path)
    row = decode_file(record(path), CFG)[0]
    assert (row["width"], row["height"]) == (48, 32) and row["modality"] == "image"
    frame = Image.open(io.BytesIO(row["frames"][0]))
    assert frame.mode == "RGB" and frame.size == (48, 32)  # never upscaled past the source
    if mode == "RGBA":
        assert thumb(row).getpixel((4, 16)) == pytest.approx((255, 255, 255), abs=8)  # alpha on white


def test_animated_gif_gives_frames_across_the_animation(tmp_path):
    frames = [Image.new("RGB", (40, 40), (i * 25, 0, 255 - i * 25)) for i in range(10)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    row = decode_file(record(path), CFG)[0]
    assert row["end_s"] == pytest.approx(1.0) and len(row["frames"]) == 4
    reds = [np.asarray(Image.open(io.BytesIO(f)))[..., 0].mean() for f in row["frames"]]
    assert reds == sorted(reds) and reds[-1] - reds[0] > 150


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    path = png_header(tmp_path / "bomb.png", 30000, 30000)
    with pytest.raises(DecodeError, match=r"30000x30000.*decode.max_image_pixels"):
        decode_file(record(path), DecodeConfig())
