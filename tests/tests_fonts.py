"""A TrueType font for drawing test text (DejaVu from Debian when there, Pillow's own otherwise)."""

import glob

from PIL import ImageFont


def font(size: int):
    found = sorted(glob.glob("/usr/share/fonts/truetype/**/*Sans*.ttf", recursive=True))
    return ImageFont.truetype(found[0], size) if found else ImageFont.load_default(size=size)
