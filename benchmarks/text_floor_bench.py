"""How similar the ``text`` space finds unrelated lines, per language: the floor of evidence.

The default text encoder (all-MiniLM-L6-v2) was trained on English. On Czech or Dutch
text its cosine similarities run high for lines that have nothing in common, so a query
in those languages "finds" unrelated speech. This measures, on Fish Fillets NG lines held
out from ``quality_bench.py`` (that bench takes every 5th line; this one every 5th line
from the 3rd on), per language:

- ``unrelated``: for each line as a query, the highest similarity among the other lines
  (what an absent query's best hit looks like in an archive of that many lines), and
  its 50th/95th/max over the queries;
- ``matching`` (``--asr N``): similarity of a line's reference text to what Whisper base
  (the default recognizer, VAD on) heard in its clip, for N clips: median and 10th percentile.

    flock /tmp/ml-bench.lock python benchmarks/text_floor_bench.py [--lines 150] [--asr 12]

``SearchConfig.other_language_similarity`` is chosen from it (README, "Search quality").
The last line is ``RESULT unrelated_p95_en=... unrelated_p95_cs=... unrelated_p95_nl=...``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import _speech  # noqa: E402

_EN = re.compile(r'dialogId\("([^"]+)",\s*"[^"]*",\s*"((?:[^"\\]|\\.)*)"\)')


def held_out(lang: str, n: int) -> list[_speech.Clip]:
    """Lines of ``lang`` that quality_bench.py does not use (offset 2 of its stride 5)."""
    if lang == "en":  # English texts of the same game (no English voices): dialogs_en.lua
        out = {}
        for script in sorted(_speech.FILLETS.glob("script/*/dialogs_en.lua")):
            for line_id, text in _EN.findall(script.read_text(encoding="utf-8", errors="replace")):
                if 4 <= len(text.split()) <= 25:
                    out.setdefault(line_id, _speech.Clip("", text, "en"))
        got = [out[k] for k in sorted(out)]
    else:
        got = [c for c in _speech.fillets(lang) if 4 <= len(c.text.split()) <= 25]
    return got[2::5][:n]


def unrelated(vecs: np.ndarray) -> np.ndarray:
    sims = vecs @ vecs.T
    np.fill_diagonal(sims, -1.0)
    return sims.max(axis=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=150, help="held-out lines per language")
    ap.add_argument("--asr", type=int, default=12, help="clips per language transcribed for matching pairs (0: none)")
    args = ap.parse_args()

    from medialake.models.text import TextEncoder

    enc = TextEncoder.shared("all-MiniLM-L6-v2", "cpu")
    asr = None
    result = {}
    for lang in ("en", "cs", "nl"):
        lines = held_out(lang, args.lines)
        vecs = enc.encode([c.text for c in lines])
        top = unrelated(vecs)
        p50, p95, mx = np.percentile(top, 50), np.percentile(top, 95), top.max()
        result[lang] = p95
        msg = f"{lang}: {len(lines)} lines; unrelated best hit p50 {p50:.3f} p95 {p95:.3f} max {mx:.3f}"
        if args.asr and lang != "en":
            if asr is None:
                from medialake.models.asr import SpeechRecognizer

                asr = SpeechRecognizer("whisper-base", "cpu", cpu_threads=1, vad_filter=True)
            clips = lines[: args.asr]
            heard = [asr.transcribe(_speech.decode(c.path)).text or "" for c in clips]
            hv = enc.encode(heard)
            match = np.sum(hv * vecs[: len(clips)], axis=1)
            msg += (f"; matching (reference vs Whisper base) median {np.median(match):.3f} "
                    f"p10 {np.percentile(match, 10):.3f} ({len(clips)} clips, WER "
                    f"{_speech.wer([(c.text, h) for c, h in zip(clips, heard)]):.3f})")
        print(msg, flush=True)
    print("RESULT " + " ".join(f"unrelated_p95_{k}={v:.3f}" for k, v in result.items()))


if __name__ == "__main__":
    main()
