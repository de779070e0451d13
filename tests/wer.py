"""Word error rate with a small text normaliser (case, punctuation, digits as words)."""

from __future__ import annotations

import json
import re
from pathlib import Path

_DIGITS = {"0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five", "6": "six",
           "7": "seven", "8": "eight", "9": "nine", "10": "ten"}

REFERENCES = {k: v for k, v in json.loads((Path(__file__).parent / "data" / "transcripts.json").read_text()).items()
              if not k.startswith("_")}


def normalise(text: str) -> list[str]:
    words = re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split()
    return [_DIGITS.get(w, w) for w in words]


def word_errors(ref: str, hyp: str) -> tuple[int, int]:
    """(substitutions + deletions + insertions, reference length)."""
    r, h = normalise(ref), normalise(hyp)
    d = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(h) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(h)], len(r)


def wer(pairs: list[tuple[str, str]]) -> float:
    errs = [word_errors(r, h) for r, h in pairs]
    return sum(e for e, _ in errs) / max(1, sum(n for _, n in errs))
