"""OCR keeps lines that read as words and drops what it invents on photos without text."""

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from medialake.models.ocr import TextRecognizer
from medialake.models.ocr_filter import TextFilter


@pytest.mark.parametrize("line,keep", [
    ("LIS FIE AS S", False), ("a rl s berg", False), ("ok", False),  # read on real photos / too short
    ("QUARTERLY BUDGET REVIEW", True), ("Fresh bread on Tuesday 9:00", True), ("EXIT 12", True),
])
def test_lines_that_are_not_words_are_dropped(line, keep):
    assert TextFilter().is_text(line, 0.95) is keep
    assert TextFilter().is_text(line, 0.3) is False  # low confidence: never


@pytest.mark.slow
def test_real_photos_give_no_text_and_slides_still_read():
    skdata = pytest.importorskip("skimage.data")
    ocr = TextRecognizer(text_filter=TextFilter())
    for name in ("chelsea", "coffee", "rocket"):
        assert ocr.text(Image.fromarray(np.asarray(getattr(skdata, name)()))) is None, name
    slide = Image.new("RGB", (640, 360), "white")
    ImageDraw.Draw(slide).text((40, 150), "Harbour ferry timetable", fill="black", font=ImageFont.load_default(size=40))
    assert "timetable" in (ocr.text(slide) or "").lower()
