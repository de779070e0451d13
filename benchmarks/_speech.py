"""Real speech with reference transcripts, from Debian packages that install offline.

- Czech and Dutch: the voice acting of Fish Fillets NG (``fillets-ng-data-cs``,
  ``fillets-ng-data-nl``: ``sound/<level>/<lang>/<line>.ogg``), whose lines' texts are the
  ``dialogStr`` of ``script/<level>/dialogs_<lang>.lua`` in ``fillets-ng-data``.
- English: the spoken channel names of ``sound-theme-freedesktop``
  (``audio-channel-front-left.oga`` says "front left"). Real English read speech is scarce
  in Debian; these nine clips are the English set.

``clips("cs", n)`` -> up to ``n`` :class:`Clip` (path, reference text, language), chosen
deterministically (sorted by id, lines of 4 to 25 words, one in every ``stride``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FILLETS = Path("/usr/share/games/fillets-ng")
FREEDESKTOP = Path("/usr/share/sounds/freedesktop/stereo")
PACKAGES = {"cs": "fillets-ng-data-cs", "nl": "fillets-ng-data-nl", "en": "sound-theme-freedesktop"}

_LINE = re.compile(r'dialogId\("([^"]+)"[^\n]*\)\s*\n\s*dialogStr\("((?:[^"\\]|\\.)*)"\)')


@dataclass(frozen=True)
class Clip:
    path: str
    text: str
    language: str


def _missing(lang: str) -> SystemExit:
    return SystemExit(f"no {lang} speech found; `apt-get install {PACKAGES[lang]}`"
                      + (" fillets-ng-data" if lang != "en" else ""))


def fillets(lang: str) -> list[Clip]:
    """Every voiced line of ``lang`` whose text is known, sorted by line id."""
    out: dict[str, Clip] = {}
    for script in sorted(FILLETS.glob(f"script/*/dialogs_{lang}.lua")):
        level = script.parent.name
        for line_id, text in _LINE.findall(script.read_text(encoding="utf-8", errors="replace")):
            ogg = FILLETS / "sound" / level / lang / f"{line_id}.ogg"
            if ogg.is_file() and line_id not in out:
                out[line_id] = Clip(str(ogg), text.replace('\\"', '"'), lang)
    return [out[k] for k in sorted(out)]


def freedesktop() -> list[Clip]:
    out = []
    for f in sorted(FREEDESKTOP.glob("audio-channel-*.oga")):
        words = f.stem.removeprefix("audio-channel-").replace("-", " ")
        out.append(Clip(str(f), words, "en"))
    return out


def clips(lang: str, n: int = 12, stride: int = 7, min_words: int = 4, max_words: int = 25) -> list[Clip]:
    """Up to ``n`` clips of ``lang`` ("cs", "nl" or "en"), deterministic."""
    if lang == "en":
        got = freedesktop()
    else:
        got = [c for c in fillets(lang) if min_words <= len(c.text.split()) <= max_words][::stride]
    if not got:
        raise _missing(lang)
    return got[:n]


def normalise(text: str) -> list[str]:
    """Lower-cased words of any script (diacritics kept), digits as they are."""
    return re.findall(r"\w+(?:'\w+)?", text.lower().replace("-", " "))


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


def decode(path: str):
    """A clip as 16 kHz mono float32 (PyAV, as the pipeline decodes it)."""
    from medialake.operators.audio import decode_audio
    from medialake.operators.probe import open_container

    with open_container(path) as c:
        return decode_audio(c)
