"""Moments narrowed to the matching words, and no moments for queries about nothing."""

import pytest

import medialake
from medialake.search.evidence import TERM_SHARE_EXAMPLE, word_span
from medialake.search.moments import stem
from search_lakes import UTC, asset, seg, write_lake
from datetime import datetime

from medialake.store import maintain


def timed(text: str, start: float, step: float = 0.4) -> list[dict]:
    """Words of ``text`` said one every ``step`` seconds from ``start``."""
    return [{"word": w, "start": round(start + i * step, 3), "end": round(start + i * step + 0.3, 3),
             "probability": 0.9} for i, w in enumerate(text.split())]


@pytest.fixture(scope="module")
def worded(tmp_path_factory) -> str:
    db = str(tmp_path_factory.mktemp("worded") / "lake.lance")
    first = "Welcome back to the harbour. The old ferry leaves"
    second = "at seven every morning from pier four. Bring a coat."
    segs = [
        {**seg("r1", 0, 0, 10, first, media_type="audio"), "words": timed(first, 1.0, 1.0)},
        {**seg("r1", 1, 10, 20, second, media_type="audio"), "words": timed(second, 10.2)},
        {**seg("r1", 2, 20, 30, "Seagulls circle the harbour while the ferry waits.", media_type="audio"),
         "words": timed("Seagulls circle the harbour while the ferry waits.", 22.0)},
        {**seg("r2", 0, 0, 10, "The museum opens its new wing on Saturday with a concert.", media_type="audio"),
         "words": timed("The museum opens its new wing on Saturday with a concert.", 3.0)},
    ]
    for s in segs:
        s["modality"] = "audio"
    assets = [asset(a, f"/radio/{a}.mp3", "audio", 30.0, datetime(2024, 1, 1, tzinfo=UTC)) for a in ("r1", "r2")]
    maintain(write_lake(db, assets, segs))
    return db


def test_a_phrase_moment_runs_from_its_first_to_its_last_word(worded):
    hits = medialake.search("the old ferry leaves", db=worded, limit=3)
    top = hits[0]
    # "The old ferry leaves" are words 6-9 of the first window, one a second from 1 s: 6.0 s to 9.3 s
    assert top["asset_id"] == "r1" and abs(top["start_s"] - 6.0) < 1e-6
    assert 9.3 <= top["end_s"] <= 9.3 + 1.0 and top["score"] == 1.0


def test_a_phrase_said_across_a_window_boundary_is_one_moment(worded):
    top = medialake.search("ferry leaves at seven", db=worded, limit=3)[0]
    # "ferry leaves" end the first window (8.0-9.3 s), "at seven" start the second (10.2-10.9 s)
    assert top["segments"] == 2 and abs(top["start_s"] - 8.0) < 1e-6 and 10.9 <= top["end_s"] <= 10.9 + 1.0


def test_a_word_hit_does_not_swallow_the_neighbouring_window(worded):
    hits = medialake.search("museum concert", db=worded, limit=5)
    assert hits[0]["asset_id"] == "r2" and hits[0]["end_s"] - hits[0]["start_s"] < 10
    assert hits[0]["start_s"] == pytest.approx(3.4)


@pytest.mark.parametrize("query", ["chocolate cake recipe with strawberries", "stock market crash of 1929"])
def test_queries_about_nothing_return_nothing_unless_the_cut_off_is_off(worded, query):
    assert medialake.search(query, db=worded, limit=5) == []
    anything = medialake.search(query, db=worded, limit=5, min_score=0)
    assert anything and all(0 <= h["score"] < 0.35 for h in anything)


def test_min_score_is_checked(worded):
    from medialake.errors import InputError

    with pytest.raises(InputError, match="min_score"):
        medialake.search("ferry", db=worded, min_score=2)


def test_word_span_prefers_the_phrase_and_falls_back_to_terms():
    words = timed("budget talk then the budget review follows", 0.0, 1.0)
    assert word_span(words, "budget review", {"budget", "review"}, stem) == (4.0, 5.3)
    assert word_span(words, "review of talk", {"review", "talk"}, stem) == (1.0, 5.3)
    assert word_span(words, "lunch", {"lunch"}, stem) is None
    assert TERM_SHARE_EXAMPLE == 0.45


@pytest.fixture(scope="module")
def foreign(tmp_path_factory) -> str:
    """Czech and Dutch speech (as Whisper writes it): the English text encoder finds
    unrelated lines of these languages about as similar as related ones."""
    db = str(tmp_path_factory.mktemp("foreign") / "lake.lance")
    lines = [
        ("c1", "cs", "Můžeš nás ovládat kurzorovými šipkami a mezerníkem mezi námi přepínat."),
        ("c2", "cs", "Pokud máš pocit, že jsi už řešení zkazil, nevadí. Je to na tobě."),
        ("c3", "cs", "Nemůžeš posunout tu židli kousek vlevo? Na to je ta místnost malá."),
        ("n1", "nl", "Druk op de knop met de lange pijl, dan gaat de deur bij het raam open."),
        ("n2", "nl", "Ssst, ik wil dit laboratorium goed onderzoeken voor het donker wordt."),
    ]
    segs = [{**seg(a, 0, 0, 10, t, media_type="audio", language=lang), "words": timed(t, 1.0)}
            for a, lang, t in lines]
    assets = [asset(a, f"/games/{a}.ogg", "audio", 10.0, datetime(2024, 1, 1, tzinfo=UTC)) for a, _, _ in lines]
    maintain(write_lake(db, assets, segs))
    return db


@pytest.mark.parametrize("query", ["recept na čokoládový dort", "fietsenstalling bij het station",
                                   "je to na stole"])
def test_foreign_queries_about_nothing_return_nothing(foreign, query):
    # their stop words (na, je, to, bij, het) are in every line, and MiniLM finds any two
    # Czech lines alike: neither is evidence
    assert medialake.search(query, db=foreign, limit=5) == []


def test_a_foreign_phrase_is_found_at_its_words_accents_or_not(foreign):
    top = medialake.search("posunout zidli kousek", db=foreign, limit=3)[0]
    assert top["asset_id"] == "c3" and top["score"] >= 0.35
    # "posunout tu židli kousek" are words 2-5, one every 0.4 s from 1.0 s
    assert top["start_s"] == pytest.approx(1.4) and top["end_s"] <= 2.9 + 1.0
    assert medialake.search("laboratorium onderzoeken", db=foreign, limit=1)[0]["asset_id"] == "n2"


def test_stop_words_next_to_the_match_widen_the_span():
    words = timed("help het kijkt naar me", 0.0, 1.0)
    # "het" is a Dutch stop word, "naar"/"me" too; the query's words next to "kijkt" join it
    assert word_span(words, "kijkt naar me", {"kijkt"}, stem) == (2.0, 4.3)
    assert word_span(words, "ik kijkt", {"kijkt"}, stem) == (2.0, 2.3)


def test_stop_words_are_per_language_and_folded():
    from medialake.search.stopwords import fold, is_stop

    assert fold("Mezerník") == "mezernik"
    assert is_stop("na", "cs") and is_stop("het", "nl") and is_stop("the", "cs")
    assert not is_stop("na", "en") and not is_stop("front", "en") and not is_stop("židli", "cs")
