"""OCR: CPU per picture and reading accuracy by detector size and thread count.

The OCR role reads each segment's thumbnail (256 px on its longer side). PP-OCR's text
detector first scales the picture so that its shorter side is ``det_side`` pixels;
rapidocr's default, 736, blows a 16:9 thumbnail up to 736x1308. This prints, side by
side in one run, for several ``det_side`` values and 1 or 2 onnxruntime threads:

* wall and CPU seconds per picture (after one warm-up call), and
* accuracy: 1 - normalised edit distance between what was read and the words drawn,
  per letter height on the original 1280x720 frame (24 slides, 4 per size, several fonts),
  plus the blank frames of the ingest benchmark's videos (nothing should be read there).

Then, the pictures the ocr role reads now (``decode.ocr_px``: the sampled frames at 960 px
on the longer side) against the 256 px thumbnail it read before, down to 16 px letters, and
what one 10 s segment costs the role with its 4 frames (a slide that stays: read once;
four different pictures: read at most ``ocr.options.max_frames`` times, 2 by default).

    python benchmarks/ocr_bench.py [--frames-only]
"""

from __future__ import annotations

import difflib
import glob
import io
import random
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from medialake.models.ocr import TextRecognizer  # noqa: E402
from medialake.operators.image import jpeg_thumbnail  # noqa: E402

WORDS = ("budget review harbour master lantern umbrella station museum garden bicycle compass timetable "
         "telescope invitation staircase oranges").split()
SIZES = (28, 36, 44, 56, 72, 96)
SMALL = (16, 20, 24, 28, 36)


def slides(n_per_size: int = 4, seed: int = 1, sizes=SIZES, read=None) -> list[tuple[int, str, Image.Image]]:
    fonts = sorted(glob.glob("/usr/share/fonts/truetype/**/*.ttf", recursive=True))
    if not fonts:
        raise SystemExit("no TrueType fonts under /usr/share/fonts/truetype: apt-get install fonts-dejavu-core")
    rnd = random.Random(seed)
    out = []
    read = read or (lambda img: Image.open(io.BytesIO(jpeg_thumbnail(img, 256))).convert("RGB"))
    for fs in sizes:
        for k in range(n_per_size):
            text = " ".join(rnd.sample(WORDS, 3))
            img = Image.new("RGB", (1280, 720), tuple(rnd.randrange(0, 90) for _ in range(3)))
            ImageDraw.Draw(img).text((rnd.randrange(20, 200), rnd.randrange(20, 500)), text, fill="white",
                                     font=ImageFont.truetype(fonts[k % len(fonts)], fs))
            out.append((fs, text, read(img)))
    return out


def blanks(n: int = 8) -> list[Image.Image]:
    """Moving colour shapes without text (the frames of the ingest benchmark's videos)."""
    h, w = 360, 640
    yy, xx = np.mgrid[0:h, 0:w]
    out = []
    for i in range(n):
        img = np.stack([(xx * 255 // w), (yy * 255 // h), np.full_like(xx, (i * 37) % 256)], -1).astype(np.uint8)
        img = np.roll(img, i * 40, axis=1)
        img[h // 3:h // 3 + 60, 40 * i:40 * i + 80] = (255, 200, 40)
        out.append(Image.open(io.BytesIO(jpeg_thumbnail(Image.fromarray(img), 256))).convert("RGB"))
    return out


def main() -> int:
    if "--frames-only" in sys.argv:  # only the OCR frames against thumbnails, and a segment's price
        frames_vs_thumbnails()
        return 0
    cases, empty = slides(), blanks()
    print(f"{len(cases)} slides (letters {', '.join(map(str, SIZES))} px on 1280x720, read from the 256 px thumbnail), "
          f"{len(empty)} frames without text")
    print(f"{'det_side':>8} {'threads':>7} {'wall s/pic':>10} {'CPU s/pic':>9}  accuracy by letter height"
          f"{'':12} false reads on blank")
    for side in (736, 480, 320, 256):
        for threads in (1, 2):
            ocr = TextRecognizer(threads=threads, det_side=side)
            ocr.text(cases[0][2])
            t, c = time.perf_counter(), time.process_time()
            got = [ocr.text(im) or "" for _, _, im in cases]
            wrong = sum(1 for im in empty if ocr.text(im))
            n = len(cases) + len(empty)
            wall, cpu = (time.perf_counter() - t) / n, (time.process_time() - c) / n
            acc: dict[int, list[float]] = {}
            for (fs, text, _), g in zip(cases, got):
                a = g.replace(" ", "").replace("\n", "").lower()
                acc.setdefault(fs, []).append(difflib.SequenceMatcher(None, a, text.replace(" ", "")).ratio())
            by = " ".join(f"{fs}:{sum(v) / len(v):.2f}" for fs, v in acc.items())
            print(f"{side:>8} {threads:>7} {wall:>10.3f} {cpu:>9.3f}  {by}  {wrong}/{len(empty)}", flush=True)
    frames_vs_thumbnails()
    return 0


def _accuracy(ocr, cases) -> tuple[str, float]:
    c = time.process_time()
    acc: dict[int, list[float]] = {}
    for fs, text, im in cases:
        g = (ocr.text(im) or "").replace(" ", "").replace("\n", "").lower()
        acc.setdefault(fs, []).append(difflib.SequenceMatcher(None, g, text.replace(" ", "")).ratio())
    return " ".join(f"{fs}:{sum(v) / len(v):.2f}" for fs, v in acc.items()), (time.process_time() - c) / len(cases)


def frames_vs_thumbnails() -> None:
    import pyarrow as pa

    from medialake.models.ocr import OcrStage
    from medialake.operators.video import ocr_jpeg

    as_read = {"thumbnail 256": lambda img: Image.open(io.BytesIO(jpeg_thumbnail(img, 256))).convert("RGB"),
               "ocr frame 960": lambda img: Image.open(io.BytesIO(ocr_jpeg(img, 960))).convert("RGB")}
    print(f"\n{'picture read':>14} {'det_side':>8} {'CPU s/pic':>9}  accuracy by letter height (1280x720 frame)")
    figures = {}
    for name, read in as_read.items():
        cases = slides(sizes=SMALL, read=read)
        for side in (320, 480):
            ocr = TextRecognizer(threads=1, det_side=side)
            ocr.text(cases[0][2])
            by, cpu = _accuracy(ocr, cases)
            figures[(name, side)] = (by, cpu)
            print(f"{name:>14} {side:>8} {cpu:>9.3f}  {by}", flush=True)
    slide = slides(1, seed=3, sizes=(24,), read=lambda img: img)[0][2]
    moving = [slides(1, seed=10 + i, sizes=(24,), read=lambda img: img)[0][2] for i in range(4)]
    print(f"\n{'one 10 s segment, 4 frames':>28} {'max_frames':>10} {'reads':>5} {'CPU s/segment':>13}")
    for max_frames in (2, 0):  # the default, and every frame
        stage = OcrStage(device="cpu", options={"max_frames": max_frames})
        for name, pics in (("a slide that stays", [slide] * 4), ("four different pictures", moving)):
            batch = pa.table({"ocr_frames": pa.array([[ocr_jpeg(p, 960) for p in pics]], pa.list_(pa.binary()))})
            stage.reads_done = 0
            c = time.process_time()
            stage(batch)
            print(f"{name:>28} {max_frames or 'all':>10} {stage.reads_done:>5} {time.process_time() - c:>13.3f}",
                  flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
