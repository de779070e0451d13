"""Weighted RRF, moment merging and query-word marking, on plain lists (no database)."""

from medialake.search.fusion import Ranked, rrf
from medialake.search.moments import mark, merge, query_terms


def hits(*ids, asset="a", spans=None):
    spans = spans or {}
    return [{"segment_id": i, "asset_id": asset, "media_type": "video", "start_s": spans.get(i, (0, 10))[0],
             "end_s": spans.get(i, (0, 10))[1], "text": i} for i in ids]


def test_rrf_rewards_agreement_and_respects_weights():
    a = Ranked("text", hits("x", "y", "z"))
    b = Ranked("fulltext", hits("z", "y"))
    fused = rrf([a, b], k=60)
    # z: 1/63 + 1/61 > y: 2/62 > x: 1/61 (in both lists beats one list)
    assert [f.segment_id for f in fused] == ["z", "y", "x"]
    assert fused[0].ranks == {"text": 3, "fulltext": 1}
    only_text = rrf([a, Ranked("fulltext", hits("z", "y"), weight=0.0)])
    assert [f.segment_id for f in only_text] == ["x", "y", "z"]
    heavy = rrf([a, Ranked("fulltext", hits("z", "y"), weight=5.0)])
    assert heavy[0].segment_id == "z"
    assert rrf([Ranked("text", hits("x")), Ranked("fulltext", hits("x"))])[0].score == 1.0  # first everywhere


def test_merge_joins_touching_hits_of_one_asset_only():
    spans = {"s1": (0, 10), "s2": (10, 20), "s3": (19, 30), "s4": (50, 60)}
    f = rrf([Ranked("text", hits("s3", "s1", "s4", "s2", spans=spans)),
             Ranked("fulltext", hits("o1", asset="other"))])
    moments = merge(f, gap_s=1.0)
    spans_out = sorted((m.asset_id, m.start_s, m.end_s) for m in moments)
    assert spans_out == [("a", 0, 30), ("a", 50, 60), ("other", 0, 10)]
    top = next(m for m in moments if m.end_s == 30)
    assert top.best.segment_id == "s3" and len(top.segments) == 3 and top.text == "s1\ns2\ns3"
    assert len(merge(f, gap_s=100.0)) == 2  # with a wide gap the 50-60 hit joins too


def test_a_much_weaker_neighbour_does_not_widen_the_moment():
    spans = {"on": (10, 14), "off": (0, 10), "near": (14, 20)}
    rows = hits("on", "near", "off", spans=spans)
    for row, dist in zip(rows, (0.30, 0.45, 0.96)):  # similarity 0.70, 0.55, 0.04
        row["_distance"] = dist
    moments = merge(rrf([Ranked("text", rows)]), gap_s=1.0, min_ratio=0.5)
    assert [(m.start_s, m.end_s) for m in moments] == [(10, 20), (0, 10)]  # 0.04 < 0.5 * 0.70
    assert [(m.start_s, m.end_s) for m in merge(rrf([Ranked("text", rows)]), gap_s=1.0, min_ratio=0)] == [(0, 20)]


def test_mark_uses_light_stems_and_skips_stop_words():
    terms = query_terms("The reviews of budgets")
    assert terms == {"review", "budget"}
    marked, matched = mark("Budget review: the reviewed budgets.", terms, ("[", "]"))
    assert marked == "[Budget] [review]: the [reviewed] [budgets]."
    assert matched == ["Budget", "review", "reviewed", "budgets"]
    assert mark(None, terms) == (None, [])
