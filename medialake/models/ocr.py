"""Text in pictures (``ocr`` role): rapidocr-onnxruntime (PP-OCRv4 in the wheel).

``TextRecognizer().read(image)`` -> list of :class:`OcrLine` (text, box, confidence, and
the words with their own boxes). PP-OCRv4's recogniser often drops the spaces between
English words ("QUARTERLYBUDGETREVIEW"); each line is split back into words with
``wordninja`` (a word-frequency model that keeps the original letters and case), and each
word's box is the union of the recogniser's character boxes, so "budget" is searchable.
Lines below ``min_confidence``, and lines that do not read as words
(:mod:`medialake.models.ocr_filter`: what PP-OCR invents on photos without text), are
dropped. :class:`OcrStage` is the ``ocr`` role's model
stage (an actor pool in the pipeline): it fills ``ocr_text`` for rows with a picture.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
from PIL import Image
from pydantic import Field

from medialake import arrow
from medialake.errors import ModelError
from medialake.models.frames import segment_frames
from medialake.models.ocr_filter import TextFilter
from medialake.models.registry import cached
from medialake.models.stage import ModelStage
from medialake.settings import Frozen

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixels of the input picture


@dataclass
class OcrLine:
    text: str
    box: Box
    confidence: float
    words: list[tuple[str, Box]] = field(default_factory=list)


def _bounds(points) -> Box:
    a = np.asarray(points, dtype=np.float32).reshape(-1, 2)
    return (float(a[:, 0].min()), float(a[:, 1].min()), float(a[:, 0].max()), float(a[:, 1].max()))


def split_words(text: str) -> list[tuple[int, int]]:
    """Character spans ``[start, end)`` of the words in ``text``, spaces recovered.

    >>> t = "QUARTERLYBUDGETREVIEW on Tuesday"
    >>> [t[a:b] for a, b in split_words(t)]
    ['QUARTERLY', 'BUDGET', 'REVIEW', 'on', 'Tuesday']
    """
    import wordninja

    spans: list[tuple[int, int]] = []
    i = 0
    for token in text.split(" "):
        if token:
            pieces = wordninja.split(token) if any(c.isalpha() for c in token) else [token]
            sub, pos = [], 0
            for piece in pieces:
                at = token.find(piece, pos)
                if at < 0:
                    sub = []
                    break
                sub.append((i + at, i + at + len(piece)))
                pos = at + len(piece)
            spans.extend(sub or [(i, i + len(token))])
        i += len(token) + 1
    return spans


def _with_punctuation(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Extend each span to swallow punctuation up to the next span, so nothing is lost."""
    out = []
    for k, (a, b) in enumerate(spans):
        nxt = spans[k + 1][0] if k + 1 < len(spans) else len(text)
        while b < nxt and text[b] != " ":
            b += 1
        out.append((a, b))
    return out


def merge_lines(pieces: list[OcrLine]) -> list[OcrLine]:
    """Join detector boxes that sit on one text line (vertical centres inside each other's
    extent) into reading lines, top to bottom, left to right; confidence is the lowest."""
    rows: list[list[OcrLine]] = []
    for p in sorted(pieces, key=lambda l: (l.box[1] + l.box[3]) / 2):
        centre = (p.box[1] + p.box[3]) / 2
        row = rows[-1] if rows else None
        if row is not None:
            top = min(r.box[1] for r in row)
            bottom = max(r.box[3] for r in row)
            row_centre = (top + bottom) / 2
            if top <= centre <= bottom and p.box[1] <= row_centre <= p.box[3]:
                row.append(p)
                continue
        rows.append([p])
    out = []
    for row in rows:
        row.sort(key=lambda l: l.box[0])
        box = (min(r.box[0] for r in row), min(r.box[1] for r in row), max(r.box[2] for r in row), max(r.box[3] for r in row))
        out.append(OcrLine(" ".join(r.text for r in row), box, min(r.confidence for r in row),
                           [w for r in row for w in r.words]))
    return out


#: Shorter side the text detector scales each picture to (PP-OCR's ``limit_type: min``).
#: rapidocr's own default, 736, blows a 256 px thumbnail up ninefold in area and costs
#: 0.39 s of CPU per picture; 320 costs 0.07 s and reads text as well as 736 down to
#: 36 px letters on a 1280x720 frame (``benchmarks/ocr_bench.py``).
DET_SIDE = 320


class TextRecognizer:
    """rapidocr's PP-OCRv4 detector + recogniser, loaded once per process.

    ``threads`` is onnxruntime's intra-op thread count (0: all cores). One thread is the
    default: on small pictures a second thread saves almost no wall time and doubles the
    CPU spent (its workers spin while they wait), CPU the other stages need.
    """

    def __init__(self, min_confidence: float = 0.6, threads: int = 1, det_side: int = DET_SIDE,
                 text_filter: TextFilter | None = None):
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as e:
            raise ModelError("the ocr role needs `pip install rapidocr-onnxruntime==1.4.4`") from e
        if det_side < 32:
            raise ModelError(f"ocr det_side {det_side} is too small; use 320 (or 736, rapidocr's default)")
        kw = {"intra_op_num_threads": threads} if threads else {}
        self._new_engine = lambda: RapidOCR(det_limit_type="min", det_limit_side_len=det_side, **kw)
        # rapidocr keeps per-call state on the engine (the detector's resize op), so each
        # thread of an actor (a pool with `threads` > 1) reads with an engine of its own: two
        # threads read two pictures at once (2.9 s against 5.4 s for 20 pictures), and a
        # second engine's sessions added no measurable RSS (373 MiB with one or two)
        self._local = threading.local()
        self.engine = self._local.engine = self._new_engine()
        self.min_confidence = min_confidence
        self.text_filter = text_filter

    def _engine(self):
        engine = getattr(self._local, "engine", None)
        if engine is None:
            engine = self._local.engine = self._new_engine()
        return engine

    @classmethod
    def shared(cls, min_confidence: float = 0.6, threads: int = 1, det_side: int = DET_SIDE,
               text_filter: TextFilter | None = None) -> "TextRecognizer":
        return cached(("ocr", "rapidocr", min_confidence, threads, det_side, text_filter),
                      lambda: cls(min_confidence, threads, det_side, text_filter))

    def read(self, image: Image.Image) -> list[OcrLine]:
        """The lines of text in ``image``, top to bottom, each split into words."""
        arr = np.asarray(image.convert("RGB"))[:, :, ::-1]  # rapidocr expects BGR like OpenCV
        result, _ = self._engine()(np.ascontiguousarray(arr), return_word_box=True)
        lines = []
        for item in result or []:
            box, text, score = item[0], str(item[1]), float(item[2])
            if score < self.min_confidence or not text.strip():
                continue
            char_boxes = item[3] if len(item) > 3 else None
            chars = item[4] if len(item) > 4 else None
            spans = _with_punctuation(text, split_words(text))
            words = []
            for a, b in spans:
                wb = _bounds(box)
                # character boxes line up with the text when the recogniser returned one per char
                if char_boxes and chars and len(chars) == len(text.replace(" ", "")):
                    offset = len(text[:a].replace(" ", ""))
                    n = len(text[a:b].replace(" ", ""))
                    if n:
                        wb = _bounds(char_boxes[offset : offset + n])
                words.append((text[a:b], wb))
            line = OcrLine(" ".join(w for w, _ in words), _bounds(box), score, words)
            if self.text_filter is None or self.text_filter.is_text(line.text, score):
                lines.append(line)
        return merge_lines(lines)

    def text(self, image: Image.Image) -> str | None:
        lines = self.read(image)
        return "\n".join(l.text for l in lines) if lines else None


class OcrOptions(Frozen):
    """``ocr.options``: rapidocr's settings."""

    min_confidence: float = Field(0.6, ge=0, le=1, description="lines read with less confidence are dropped")
    threads: int = Field(1, ge=0, description="onnxruntime threads per actor (0: all cores)")
    det_side: int = Field(DET_SIDE, ge=1, le=4096, description="shorter side the text detector scales a picture to")
    text_filter: bool = Field(True, description="drop lines that do not read as words (medialake/models/ocr_filter.py)")
    min_word_share: float = Field(0.6, ge=0, le=1, description="share of a line's letters that must be dictionary words")
    vocabulary: int = Field(100000, ge=100, description="how many of the most frequent English words count as words")
    max_frames: int = Field(2, ge=0, le=64, description="OCR frames read per segment, spread evenly (0: all that decode "
                            "sampled); a 960x540 frame costs about 4x a 256 px thumbnail (benchmarks/ocr_bench.py)")
    same_frame: float = Field(0.02, ge=0, le=1, description="mean grey difference (0-1) below which a frame is "
                              "taken to show what the previous one showed, and is not read again")


def _grey(image: Image.Image, side: int = 32) -> np.ndarray:
    return np.asarray(image.convert("L").resize((side, side), Image.BILINEAR), dtype=np.float32) / 255.0


def same_text(a: str, b: str, ratio: float = 0.9) -> bool:
    """Whether two OCR readings are the same text: equal once case and spacing are ignored,
    or nearly so (``difflib`` ratio at least ``ratio``: one misread letter in a line)."""
    import difflib

    na, nb = " ".join(a.casefold().split()), " ".join(b.casefold().split())
    return na == nb or difflib.SequenceMatcher(None, na, nb, autojunk=False).ratio() >= ratio


class OcrStage(ModelStage):
    """The segment's OCR frames (``ocr_frames``: the sampled frames at ``decode.ocr_px``, so
    small text survives; else its ``thumbnail``) -> ``ocr_text`` (null where nothing is read).

    On-screen text usually stays for many frames: a frame that looks like the one before it
    (mean grey difference below ``same_frame``) is not read again, and a line read in an
    earlier frame of the segment (the same text, or a one-letter misreading of it) is
    not repeated, so each text is indexed once per segment.
    """

    role = "ocr"
    reads = ("ocr_frames", "thumbnail")
    writes = ("ocr_text",)
    Options = OcrOptions
    light = True  # small pictures, a small detector (README "Tuning": ocr.options.det_side)

    def __init__(self, model: str = "rapidocr", **kw):
        super().__init__(model, **kw)
        if model != "rapidocr":
            raise ModelError(f"ocr model {model!r} is unknown; the ocr role supports 'rapidocr'")
        o = self.options
        filt = TextFilter(o.min_confidence, 3, o.min_word_share, o.vocabulary) if o.text_filter else None
        self.ocr = TextRecognizer.shared(o.min_confidence, o.threads, o.det_side, filt)
        self.reads_done = 0  # pictures actually read (the others looked like the previous one)

    def segment_text(self, pictures: list[Image.Image]) -> str | None:
        """The distinct lines read in a segment's pictures, in the order first seen."""
        kept: list[str] = []
        prev, prev_lines = None, []
        for im in pictures:
            grey = _grey(im)
            if prev is None or float(np.abs(grey - prev).mean()) > self.options.same_frame:
                prev_lines = [l.text for l in self.ocr.read(im)]
                self.reads_done += 1
            prev = grey
            for line in prev_lines:
                if not any(same_text(line, k) for k in kept):
                    kept.append(line)
        return "\n".join(kept) if kept else None

    def __call__(self, batch: pa.Table) -> pa.Table:
        texts = [self.segment_text(pics) for pics in segment_frames(batch, "ocr_frames", "thumbnail",
                                                                   self.options.max_frames)]
        return arrow.set_column(batch, "ocr_text", pa.array(texts, type=pa.string()))
