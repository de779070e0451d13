"""Search over a small hand-made database: hybrid ranking, moments, filters, explain."""

from datetime import date, datetime, timezone

import pytest

import medialake
from medialake.errors import InputError
from medialake.search.config import SearchConfig
from medialake.search.filters import Filters

INJECTIONS = ["' OR 1=1 --", "x' OR '1'='1", "'; DROP TABLE segments; --", '"', "'", "\\'", "%", "video' --"]


def test_exact_phrase_ranks_above_near_miss(lake):
    # v1-1 holds the exact phrase; v2-0 holds the same words in another order.
    hits = medialake.search("quarterly budget review", db=lake, limit=5, explain=True)
    ids = [h["segment_id"] for h in hits]
    assert ids[0] == "v1-1"
    near = next(i for i, h in enumerate(hits) if h["asset_id"] == "v2")
    assert near > 0 and hits[0]["score"] > hits[near]["score"]
    assert "phrase" in hits[0]["explain"]["lists"] and "phrase" not in hits[near]["explain"]["lists"]


def test_without_the_phrase_list_the_near_miss_can_win(lake):
    # The same query with phrase matching off: the phrase list is what separates them.
    cfg = SearchConfig(weights={"phrase": 0.0})
    with_phrase = medialake.search("quarterly budget review", db=lake, limit=5)
    without = medialake.search("quarterly budget review", db=lake, limit=5, config=cfg)
    s = {h["asset_id"]: h["score"] for h in with_phrase}
    s0 = {h["asset_id"]: h["score"] for h in without}
    assert s["v1"] - s["v2"] > s0["v1"] - s0["v2"]


def test_adjacent_hits_merge_into_one_moment_with_marked_terms(lake):
    hits = medialake.search("quarterly budget review", db=lake, limit=5, explain=True)
    top = hits[0]
    assert top["asset_uri"] == "/archive/talks/budget.mp4"
    # segments 10-20 and 20-30 (and 0-10) of the same video touch: one moment
    assert top["start_s"] <= 10.0 and top["end_s"] >= 30.0 and top["segments"] >= 2
    # a much weaker neighbour does not widen the moment: it may come back as its own, lower,
    # moment of the same video, never overlapping the top one
    v1 = [h for h in hits if h["asset_id"] == "v1"]
    assert v1[0] is top and all(h["end_s"] <= top["start_s"] or h["start_s"] >= top["end_s"] for h in v1[1:])
    assert "**quarterly** **budget** **review**" in top["marked_text"]
    assert {"quarterly", "budget", "review"} <= set(top["explain"]["matched_terms"])
    assert top["thumbnail"] == b"\xff\xd8v1-1"  # the best segment's thumbnail
    assert top["explain"]["lists"]["text<-text"] >= 1 and top["explain"]["lists"]["fulltext"] >= 1


def test_far_apart_hits_stay_separate_moments(lake):
    hits = medialake.search("offsite budget lunch terrace", db=lake, limit=10, type="video")
    v2 = sorted((h["start_s"], h["end_s"]) for h in hits if h["asset_id"] == "v2")
    assert v2 == [(0.0, 10.0), (300.0, 310.0)]


@pytest.mark.parametrize("kwargs,expect", [
    ({"type": "audio"}, {"a1", "a2"}),
    ({"type": "image"}, {"i1"}),
    ({"path_prefix": "/archive/radio/"}, {"a1", "a2"}),
    ({"since": "2024-01-01"}, {"v1", "v2"}),
    ({"until": date(2023, 1, 5)}, {"a1", "i1"}),
    ({"since": datetime(2023, 2, 1, tzinfo=timezone.utc), "until": "2024-03-01"}, {"a2", "v1"}),
    ({"min_duration": 25, "max_duration": 100}, {"v1", "a2"}),
    ({"language": "de"}, {"a2"}),
    ({"type": "video", "max_duration": 60}, {"v1"}),
])
def test_filters_keep_exactly_the_matching_assets(lake, kwargs, expect):
    # min_score=0: every asset the filters keep comes back, matching or not
    hits = medialake.search("news budget bread lamp cat", db=lake, limit=20, min_score=0, **kwargs)
    assert {h["asset_id"] for h in hits} == expect


@pytest.mark.parametrize("kwargs", [{"media_type": "audio"}, {"path_prefix": "/archive/radio/"},
                                    {"since": datetime(2023, 2, 1, tzinfo=timezone.utc), "until": "2024-03-01"}])
def test_filters_as_one_object_keep_what_the_same_keywords_keep(lake, kwargs):
    loose = {("type" if k == "media_type" else k): v for k, v in kwargs.items()}
    one = medialake.search("news budget bread lamp cat", db=lake, limit=20, filters=Filters(**kwargs))
    assert one == medialake.search("news budget bread lamp cat", db=lake, limit=20, **loose)
    with pytest.raises(InputError, match="not both"):
        medialake.search("budget", db=lake, filters=Filters(**kwargs), language="en")


@pytest.mark.parametrize("param", ["type", "path_prefix", "since", "until", "min_duration", "max_duration", "language"])
@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_in_any_filter_matches_nothing_and_raises_nothing(lake, param, value):
    assert medialake.search("budget", db=lake, limit=5, **{param: value}) == []


@pytest.mark.parametrize("value", INJECTIONS + ["budget\" OR review", "AND OR NOT ( ) * ~ ^ :"])
def test_quotes_and_operators_in_the_query_are_just_words(lake, value):
    hits = medialake.search(value, db=lake, limit=3, min_score=0)
    assert len(hits) == 3  # vector search still ranks (with the cut-off off); nothing raised


def test_relative_path_prefix_matches_absolute_uris(monkeypatch, lake):
    monkeypatch.chdir("/")  # "archive/radio" is then /archive/radio
    hits = medialake.search("bread", db=lake, path_prefix="archive/radio", limit=5, min_score=0)
    assert {h["asset_id"] for h in hits} == {"a1", "a2"}


def test_bad_inputs_are_clear_errors(lake, tmp_path):
    with pytest.raises(InputError, match="query is empty"):
        medialake.search("  ", db=lake)
    with pytest.raises(InputError, match="limit"):
        medialake.search("x", db=lake, limit=0)
    with pytest.raises(InputError, match="no image_text vectors"):
        medialake.search(None, db=lake, image=tmp_path / "x.jpg")
    with pytest.raises(InputError, match="run `medialake ingest"):
        medialake.search("x", db=str(tmp_path / "none"))


def test_search_config_rejects_unknown_weights():
    from medialake.errors import ConfigError
    from medialake.search.config import load_search_config

    with pytest.raises(ConfigError, match="unknown ranked list"):
        load_search_config(weights={"vectr": 1.0})
    with pytest.raises(ConfigError, match="rrf_kk"):
        load_search_config(rrf_kk=3)
