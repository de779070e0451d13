import glob
import io

import pyarrow as pa
import pytest
from PIL import Image, ImageDraw, ImageFont

from medialake.models.ocr import OcrStage, TextRecognizer, split_words


def font(size):
    found = sorted(glob.glob("/usr/share/fonts/truetype/**/*Sans*.ttf", recursive=True))
    return ImageFont.truetype(found[0], size) if found else ImageFont.load_default(size=size)


def rendered(lines, size=(640, 170)) -> Image.Image:
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    for i, text in enumerate(lines):
        d.text((20, 20 + 70 * i), text, fill="black", font=font(34))
    return img


def test_word_boundaries_are_recovered_keeping_case():
    t = "QUARTERLYBUDGETREVIEW Freshbreadon Tuesday 9:00"
    assert [t[a:b] for a, b in split_words(t)] == ["QUARTERLY", "BUDGET", "REVIEW", "Fresh", "bread", "on", "Tuesday", "9:00"]


@pytest.mark.slow
def test_rapidocr_reads_rendered_text_with_spaces_and_word_boxes():
    ocr = TextRecognizer.shared()
    lines = ocr.read(rendered(["QUARTERLY BUDGET REVIEW", "Fresh bread on Tuesday"]))
    assert [l.text for l in lines] == ["QUARTERLY BUDGET REVIEW", "Fresh bread on Tuesday"]
    assert all(l.confidence >= 0.6 for l in lines)
    words = dict(lines[0].words)
    assert set(words) == {"QUARTERLY", "BUDGET", "REVIEW"}
    # word boxes run left to right inside the line's box
    assert words["QUARTERLY"][2] <= words["BUDGET"][0] + 4 and words["BUDGET"][2] <= words["REVIEW"][0] + 4
    assert lines[0].box[0] <= words["QUARTERLY"][0] and words["REVIEW"][2] <= lines[0].box[2] + 1


@pytest.mark.slow
def test_text_reader_fills_ocr_text_and_nulls_blank_pictures():
    buf = io.BytesIO()
    rendered(["STOP"], size=(200, 90)).save(buf, format="JPEG", quality=90)
    blank = io.BytesIO()
    Image.new("RGB", (120, 90), "white").save(blank, format="JPEG")
    batch = pa.table({"thumbnail": pa.array([buf.getvalue(), blank.getvalue(), None], pa.binary())})
    out = OcrStage()(batch)
    assert out.column("ocr_text").to_pylist() == ["STOP", None, None]


def test_detector_size_and_threads_reach_rapidocr_and_bad_sizes_are_refused():
    from medialake.errors import ModelError
    from medialake.models.ocr import DET_SIDE

    ocr = TextRecognizer(threads=1, det_side=256)
    assert (ocr.engine.text_det.limit_type, ocr.engine.text_det.limit_side_len) == ("min", 256)
    assert TextRecognizer.shared().engine.text_det.limit_side_len == DET_SIDE == 320
    with pytest.raises(ModelError, match="det_side 8 is too small"):
        TextRecognizer(det_side=8)


@pytest.mark.slow
def test_a_thumbnail_sized_slide_is_read_at_the_default_detector_size():
    """The role reads 256 px thumbnails: 44 px letters on a 1280x720 slide are 9 px there."""
    img = Image.new("RGB", (1280, 720), (20, 40, 90))
    ImageDraw.Draw(img).text((80, 300), "harbour master timetable", fill="white", font=font(44))
    img.thumbnail((256, 256))
    assert TextRecognizer.shared().text(img) == "harbour master timetable"
