"""Stop words per language, and accent folding, for the word evidence of a hit.

A query's function words ("na", "het", "the") say nothing about whether a moment matches:
a Czech recording holds "na" in most sentences. Evidence (:mod:`medialake.search.evidence`)
counts a query's words against a moment only after dropping the stop words of the
moment's language (``segments.language``, detected by the recognizer) and English's.

- English: :data:`ENGLISH`, function words only. The ``stop-words`` package's English list
  also holds words people search for ("front", "right", "new", "information"), so it is
  not used for English.
- Every other language that package ships (Czech, Dutch, German, French, ... 33 in all,
  by ISO 639-1 code): its list, read offline from the installed package.

Words are compared accent-folded (``nás`` = ``nas``): recognizers and people drop
diacritics in both directions.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

#: English function words (articles, pronouns, auxiliaries, prepositions, conjunctions).
ENGLISH = frozenset("a an and are as at be been but by can could did do does for from had has have he her his "
                    "how i if in into is it its me my no not of on or our she so than that the their them then "
                    "there these they this those to us was we were what when where which who why will with would "
                    "you your".split())


@lru_cache(maxsize=1 << 16)
def fold(word: str) -> str:
    """``word`` lower-cased without diacritics (``Mezerník`` -> ``mezernik``). Cached: the
    evidence of a hybrid query folds the words of its 30 leaders' texts, most of them seen
    before."""
    nfkd = unicodedata.normalize("NFKD", word.lower())
    return "".join(c for c in nfkd if not unicodedata.combining(c))


@lru_cache(maxsize=64)
def stop_words(language: str | None) -> frozenset[str]:
    """The folded stop words of ``language`` (an ISO 639-1 code) and English's; English's
    alone for None or a language the ``stop-words`` package does not ship."""
    base = frozenset(fold(w) for w in ENGLISH)
    code = (language or "").split("-")[0].split("_")[0].lower()
    if not code or code == "en":
        return base
    try:
        from stop_words import LANGUAGE_MAPPING, get_stop_words
    except ImportError:  # an older install without the package: English only
        return base
    if code not in LANGUAGE_MAPPING:
        return base
    return base | frozenset(fold(w) for w in get_stop_words(code))


def is_stop(word: str, language: str | None) -> bool:
    return fold(word) in stop_words(language)
