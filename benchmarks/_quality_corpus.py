"""The labelled corpus of ``benchmarks/quality_bench.py``, from real media that install offline.

- ``speech/<lang>/*.ogg``: real speech clips with their reference text (``_speech.py``:
  Czech and Dutch voice acting, English spoken words);
- ``long/<lang>.wav``: several other clips of that language joined with 4 s pauses, and
  where each one's speech starts and ends (for moment boundaries);
- ``slides/*.png``: rendered slides with a line of text each (OCR must read them);
- ``photos/*.png``: real photos without text from scikit-image's ``skimage.data``
  (OCR must read nothing).

:func:`build` writes it and returns the labels as a dict.
"""

from __future__ import annotations

import shutil
import wave
from pathlib import Path

import numpy as np

import _speech

SR = 16000
PAUSE_S = 4.0
#: skimage.data photos without text (made by people, not rendered or microscope images of text)
PHOTOS = ("chelsea", "coffee", "camera", "rocket", "moon", "hubble_deep_field", "immunohistochemistry", "coins",
          "astronaut", "gravel")
SLIDES = ("Quarterly budget review", "Fresh bread every Tuesday", "Harbour ferry timetable",
          "Museum opening hours", "Emergency exit on the left", "Annual garden festival")
#: Queries about nothing in the corpus.
ABSENT = ("chocolate cake recipe with strawberries", "how to change a car tyre", "stock market crash of 1929",
          "penguins sliding on the ice", "wedding dress shopping", "volcano eruption in Iceland",
          "recept na čokoládový dort", "fietsenstalling bij het station")


def speech_span(pcm: np.ndarray, floor_db: float = -35.0, hop: int = 320) -> tuple[float, float]:
    """(first, last) second whose 20 ms RMS is within ``floor_db`` of the clip's loudest."""
    n = len(pcm) // hop
    if n == 0:
        return 0.0, len(pcm) / SR
    rms = np.sqrt(np.mean(pcm[: n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1)) + 1e-9
    db = 20 * np.log10(rms / rms.max())
    on = np.flatnonzero(db > floor_db)
    return float(on[0] * hop / SR), float((on[-1] + 1) * hop / SR)


def _write_wav(path: Path, pcm: np.ndarray) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(SR)
        w.writeframes((np.clip(pcm, -1, 1) * 32767).astype("<i2").tobytes())


def _long(root: Path, lang: str, clips: list) -> list[dict]:
    parts, placed, t = [np.zeros(int(SR * 1.0), np.float32)], [], 1.0
    for c in clips:
        pcm = _speech.decode(c.path)
        a, b = speech_span(pcm)
        placed.append({"text": c.text, "start_s": round(t + a, 3), "end_s": round(t + b, 3)})
        parts += [pcm, np.zeros(int(SR * PAUSE_S), np.float32)]
        t += len(pcm) / SR + PAUSE_S
    path = root / "long" / f"{lang}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_wav(path, np.concatenate(parts))
    return [{**p, "uri": str(path), "language": lang} for p in placed]


def _slides(root: Path) -> list[dict]:
    from PIL import Image, ImageDraw, ImageFont

    (root / "slides").mkdir(parents=True, exist_ok=True)
    out = []
    for i, text in enumerate(SLIDES):
        img = Image.new("RGB", (1280, 720), (245, 245, 240))
        d = ImageDraw.Draw(img)
        d.text((80, 300), text, fill=(20, 20, 30), font=ImageFont.load_default(size=72))
        path = root / "slides" / f"slide{i}.png"
        img.save(path)
        out.append({"uri": str(path), "text": text})
    return out


def _photos(root: Path) -> list[str]:
    import skimage.data
    from PIL import Image

    (root / "photos").mkdir(parents=True, exist_ok=True)
    out = []
    for name in PHOTOS:
        arr = getattr(skimage.data, name)()
        if arr.dtype != np.uint8:
            arr = (255 * (arr - arr.min()) / max(1e-9, float(arr.max() - arr.min()))).astype(np.uint8)
        path = root / "photos" / f"{name}.png"
        Image.fromarray(arr).save(path)
        out.append(str(path))
    return out


def build(root: str | Path, clips_per_lang: int = 8, long_clips: int = 4) -> dict:
    """Write the corpus under ``root`` (emptied first); return its labels."""
    root = Path(root)
    shutil.rmtree(root, ignore_errors=True)
    speech, long = [], []
    for lang in ("en", "cs", "nl"):
        n = clips_per_lang if lang != "en" else 8
        chosen = _speech.clips(lang, n + long_clips, stride=5)
        (root / "speech" / lang).mkdir(parents=True, exist_ok=True)
        for c in chosen[:n]:
            dst = root / "speech" / lang / (Path(c.path).parent.parent.name + "-" + Path(c.path).name)
            shutil.copyfile(c.path, dst)
            speech.append({"uri": str(dst), "text": c.text, "language": lang})
        rest = chosen[n:] if lang != "en" else chosen[:long_clips]
        long += _long(root, lang, rest)
    return {"speech": speech, "long": long, "slides": _slides(root), "photos": _photos(root), "absent": list(ABSENT)}
