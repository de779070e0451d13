"""Search configuration: which encoder embeds each space, fusion weights, index knobs.

A frozen pydantic model like the ingest config; ``load_search_config("search.yaml")``
reads a YAML mapping of these fields, and a misspelt field fails with its name::

    models: {text: all-MiniLM-L6-v2, image_text: /models/clip-vit-b32, audio: null}
    weights: {text: 1.0, image_text: 1.0, audio: 1.0, fulltext: 1.0, phrase: 1.0}
    rrf_k: 60
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from medialake.settings import Frozen, read_yaml_mapping, validate

#: Names of the ranked lists that fusion weighs: one per embedding space, plus BM25
#: matches of the query words (``fulltext``), exact phrase matches (``phrase``) and the
#: pictures whose perceptual hash is near an image query's (``phash``) and the video frames
#: nearest to the query in the ``image_text`` space (``frames``, the ``frames`` table).
LISTS = ("text", "image_text", "audio", "fulltext", "phrase", "phash", "frames")


class SearchConfig(Frozen):
    """How a query is embedded, ranked and fused."""

    models: dict[str, str | None] = Field(
        default_factory=lambda: {"text": None, "image_text": None, "audio": None},
        description="encoder per embedding space; null: the model the ingest config (profile) uses for that role",
    )
    asr_model: str | None = Field(None, description="speech recognizer for audio queries; null: the ingest default")
    weights: dict[str, float] = Field(default_factory=lambda: {name: 1.0 for name in LISTS},
                                      description="RRF weight per ranked list; 0 turns a list off")
    rrf_k: int = Field(60, ge=1, description="RRF constant: larger flattens the rank curve")
    candidates: int = Field(50, ge=1, description="hits taken from each list before fusion (at least 4x limit)")
    merge_gap_s: float = Field(1.0, ge=0, description="segments of one asset closer than this merge into one moment")
    merge_min_ratio: float = Field(0.5, ge=0, le=1, description="a segment joins a moment only if its vector "
                                   "similarity is at least this fraction of the moment's best (0: always)")
    nprobes: int = Field(8, ge=1, description="IVF partitions searched per query")
    ef: int = Field(100, ge=1, description="HNSW candidate list size per partition (IVF_HNSW_SQ)")
    refine_factor: int | None = Field(3, ge=1, description="re-rank refine_factor*k hits on full vectors (SQ recall 0.95 -> 0.99) "
                                      "when one vector list is all the query searches")
    fused_refine_factor: int | None = Field(
        1, ge=1, description="the same for vector lists fused with others: RRF reads their ranks, so 1 (re-rank "
        "the k hits themselves) is enough; 3x50 full vectors per list made hybrid search 1.3x slower at 1M rows "
        "for the same top 10 (benchmarks/search_bench.py). Null skips re-ranking: the index's own distances "
        "(IVF_HNSW_SQ: about twice the cosine distance) then order each list, and the leaders' exact similarities "
        "are computed from their vectors, read in one take")
    min_score: float = Field(0.35, ge=0, le=1, description="drop moments whose score (absolute evidence, see "
                             "medialake/search/evidence.py) is below this; 0 keeps the nearest hits whatever they are")
    text_languages: list[str] | None = Field(
        ["en"], description="languages the text encoder's similarities are calibrated for (all-MiniLM-L6-v2: "
        "English); null: all")
    other_language_similarity: float = Field(
        0.8, ge=0, le=1, description="in a moment of another detected language, a text-space similarity counts "
        "as evidence only from this (English MiniLM: unrelated Czech/Dutch lines reach 0.7-0.85, matching ones "
        "0.5-0.7: no evidence; benchmarks/text_floor_bench.py)")
    min_similarity: dict[str, float] = Field(
        default_factory=lambda: {"image_text": 0.0, "audio": 0.0},
        description="cosine similarity at which a hit in an image_text/audio space counts on its own, whatever "
        "min_score says (0: every such hit counts; these spaces are not calibrated)")
    word_pad_s: float = Field(0.5, ge=0, le=1, description="a text hit's moment ends this long after its last "
                              "matching word (it starts at the first)")
    word_gap_s: float = Field(3.0, ge=0, description="text hits narrowed to their words merge when the words are "
                              "this close (a phrase said across two windows)")
    phash_bits: int = Field(12, ge=0, le=32, description="an image query matches pictures whose perceptual hash "
                            "differs in at most this many of 64 bits (re-encoded, resized or 5%-cropped copies: 0-10)")
    collapse_duplicates: bool = Field(True, description="show near-duplicate assets (medialake duplicates) as one "
                                      "result that counts its copies")
    duplicate_threshold: float | None = Field(None, ge=0, le=1, description="distance (0-1) at or below which two "
                                              "assets are copies; null: the defaults of medialake/search/duplicates.py")
    mark: tuple[str, str] = Field(("**", "**"), description="put around query words in the matching text")

    @field_validator("weights")
    @classmethod
    def _known_lists(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(LISTS))
        if unknown:
            raise ValueError(f"unknown ranked list(s) {unknown}; weights may name {list(LISTS)}")
        if any(w < 0 for w in v.values()):
            raise ValueError("weights must be >= 0")
        return {**{name: 1.0 for name in LISTS}, **v}

    def weight(self, name: str) -> float:
        return self.weights.get(name, 1.0)


def load_search_config(path: str | Path | None = None, **overrides) -> SearchConfig:
    """A :class:`SearchConfig` from an optional YAML file, then keyword overrides."""
    data: dict = read_yaml_mapping(path, "search config file") if path is not None else {}
    data.update(overrides)
    return validate(SearchConfig, data, "search config",
                    "Fix the field(s) above; medialake/search/config.py lists them.")
