"""Keep OCR lines that are text, drop what the reader invents on pictures without any.

On photos without text PP-OCR still "reads" bark, fur and foliage: ``LIS FIE AS S``,
``a rl s berg``, at confidences up to 0.9. A line is kept when it is read with at least
``min_confidence`` and its letters make words: at least one word of four or more letters
among the ``vocabulary`` most frequent English words (wordninja's list, which OCR already
uses to split words), or of three letters among the ``short_vocabulary`` most frequent,
and such words make up at least ``min_word_share`` (0.6) of the letters of
the line. Numbers with two or more digits (``EXIT 12``, ``9:00``) count as words. Lines
shorter than ``min_chars`` letters and digits are dropped.

:func:`is_text` decides one line; :class:`TextFilter` holds the settings.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

_TOKEN = re.compile(r"[^\W\d_]+|\d+", re.UNICODE)


@functools.lru_cache(maxsize=4)
def vocabulary(size: int) -> frozenset[str]:
    """The ``size`` most frequent English words (lower case) of wordninja's word list."""
    import gzip

    import wordninja

    path = wordninja.DEFAULT_LANGUAGE_MODEL_PATH if hasattr(wordninja, "DEFAULT_LANGUAGE_MODEL_PATH") else None
    if path is None:
        import os

        path = os.path.join(os.path.dirname(wordninja.__file__), "wordninja", "wordninja_words.txt.gz")
    with gzip.open(path, "rt", encoding="utf-8") as f:
        words = []
        for line in f:
            words.append(line.strip())
            if len(words) >= size:
                break
    return frozenset(w.lower() for w in words if w)


@dataclass(frozen=True)
class TextFilter:
    min_confidence: float = 0.6
    min_chars: int = 3
    min_word_share: float = 0.6
    vocabulary: int = 100000
    short_vocabulary: int = 3000

    def is_text(self, text: str, confidence: float) -> bool:
        """Whether an OCR line reads as text (see the module docstring)."""
        if confidence < self.min_confidence:
            return False
        tokens = _TOKEN.findall(text or "")
        chars = sum(len(t) for t in tokens)
        if chars < self.min_chars:
            return False
        vocab, short = vocabulary(self.vocabulary), vocabulary(self.short_vocabulary)
        good = sum(len(t) for t in tokens if (t.isdigit() and len(t) >= 2)
                   or (len(t) >= 4 and t.lower() in vocab) or (len(t) == 3 and t.lower() in short))
        return good > 0 and good >= self.min_word_share * chars
