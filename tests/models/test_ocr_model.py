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


def caption_frame(text="Quarterly budget review", px=24, size=(1280, 720), shade=40) -> Image.Image:
    """A 1280x720 video frame: a dark scene with a small white caption near the bottom."""
    img = Image.new("RGB", size, (shade, shade + 20, shade + 40))
    ImageDraw.Draw(img).text((80, size[1] - 90), text, fill="white", font=font(px))
    return img


def jpeg_bytes(img: Image.Image, quality=90) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


@pytest.mark.slow
def test_a_24px_caption_in_a_1280x720_frame_is_read_from_the_ocr_frame_not_the_thumbnail():
    from medialake.operators.image import jpeg_thumbnail
    from medialake.operators.video import ocr_jpeg

    frame = caption_frame()
    stage = OcrStage(device="cpu")
    batch = pa.table({"ocr_frames": pa.array([[ocr_jpeg(frame, 960)], None], pa.list_(pa.binary())),
                      "thumbnail": pa.array([jpeg_thumbnail(frame, 256), jpeg_thumbnail(frame, 256)], pa.binary())})
    big, thumb_only = stage(batch).column("ocr_text").to_pylist()
    assert big is not None and "budget review" in big.lower()
    assert thumb_only is None or "budget" not in thumb_only.lower()  # 24 px letters are 5 px in a 256 px thumbnail


@pytest.mark.slow
def test_the_same_on_screen_text_is_indexed_once_per_segment():
    from medialake.operators.video import ocr_jpeg

    # four frames of one segment: the caption stays while the scene behind it changes a little
    # (each is read: the pictures differ), then a second caption appears
    frames = [caption_frame(shade=s) for s in (20, 60, 100)] + [caption_frame("Fresh bread on Tuesday", shade=20)]
    stage = OcrStage(device="cpu", options={"same_frame": 0.0, "max_frames": 0})
    batch = pa.table({"ocr_frames": pa.array([[ocr_jpeg(f, 960) for f in frames]], pa.list_(pa.binary()))})
    text = stage(batch).column("ocr_text")[0].as_py()
    lines = text.splitlines()
    assert stage.reads_done == 4
    assert [l.lower() for l in lines] == ["quarterly budget review", "fresh bread on tuesday"]
    # a frame that looks like the one before it is not read again
    again = OcrStage(device="cpu")
    again(pa.table({"ocr_frames": pa.array([[ocr_jpeg(frames[0], 960)] * 3], pa.list_(pa.binary()))}))
    assert again.reads_done == 1


def test_near_identical_readings_count_as_one_text():
    from medialake.models.ocr import same_text

    assert same_text("Quarterly budget review", "QUARTERLY  BUDGET REVIEW")
    assert same_text("Quarterly budget review", "Quarterly budqet review")  # one misread letter
    assert not same_text("Quarterly budget review", "Fresh bread on Tuesday")


@pytest.mark.slow
def test_two_threads_of_one_actor_read_their_own_pictures():
    """A pool with `threads: 2` reads two pictures at once in one process; rapidocr keeps
    per-call state on its engine (the detector's resize op), so each thread reads with an
    engine of its own and gets its own picture's lines, whatever the sizes."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    ocr = TextRecognizer()
    made, new_engine = [], ocr._new_engine
    ocr._new_engine = lambda: made.append(threading.get_ident()) or new_engine()
    pictures = [rendered(["QUARTERLY BUDGET REVIEW"], size=(640, 100)),
                rendered(["Fresh bread on Tuesday"], size=(900, 300))] * 4
    alone = [[l.text for l in ocr.read(p)] for p in pictures[:2]]
    assert alone == [["QUARTERLY BUDGET REVIEW"], ["Fresh bread on Tuesday"]]
    assert made == []  # the engine built with the reader serves the thread that built it
    readers = set()
    with ThreadPoolExecutor(2) as pool:
        together = list(pool.map(lambda p: readers.add(threading.get_ident()) or [l.text for l in ocr.read(p)],
                                 pictures))
    assert together == alone * 4
    assert sorted(made) == sorted(readers)  # one engine per thread, made once
