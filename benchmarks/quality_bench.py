"""Search quality on real media, for one profile: WER, phrase recall, moments, absent queries, OCR.

Builds the labelled corpus of ``benchmarks/_quality_corpus.py`` (real Czech/Dutch/English
speech clips, the same kind of clips joined into long recordings with pauses, rendered
slides, real photos without text), ingests it with ``--profile``, and prints:

- WER per speech set from the stored transcripts, next to the raw recognizer (the same
  model and options called directly on the same clips);
- spoken-phrase recall@1/@5 and MRR: each clip's text as a query; a hit is the clip's file,
  or a moment of a long recording that overlaps where the clip is said;
- moment boundary error: mean |start - true start| and |end - true end| (seconds) of the
  top moment for phrases said inside the long recordings;
- false-hit rate: queries about nothing in the corpus that return any moment;
- OCR: slide text found at rank 1 (hit rate), and photos without text that got OCR text.

    flock /tmp/ml-bench.lock python benchmarks/quality_bench.py [--profile offline] [--clips 8] [--work DIR [--reuse]]

The last line is ``RESULT wer=... recall1=... mrr=... moment_err_s=... false_hit_rate=... ocr_false_text_rate=...``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MEDIALAKE_PROGRESS", "0")

import _quality_corpus  # noqa: E402
import _speech  # noqa: E402


def stored(db: str) -> tuple[dict[str, str], dict[str, str | None], dict[str, str]]:
    """(uri -> transcript joined in time order, uri -> ocr text, asset id -> uri)."""
    from medialake.store import Store

    store = Store(db, create=False)
    uris = {a["asset_id"]: a["uri"] for a in store.assets(["asset_id", "uri"]).to_pylist()}
    rows = store.table("segments").search().select(["asset_id", "start_s", "transcript", "ocr_text"]).limit(None).to_list()
    rows.sort(key=lambda r: (r["asset_id"], r["start_s"]))
    said: dict[str, list[str]] = {}
    ocr: dict[str, str | None] = {}
    for r in rows:
        uri = uris[r["asset_id"]]
        if r["transcript"]:
            said.setdefault(uri, []).append(r["transcript"])
        if r["ocr_text"]:
            ocr[uri] = ((ocr.get(uri) or "") + "\n" + r["ocr_text"]).strip()
    return {u: " ".join(t) for u, t in said.items()}, ocr, uris


def raw_wer(cfg, clips: list[dict]) -> float:
    """WER of the profile's recognizer called directly on the clips (no pipeline)."""
    from medialake.models.asr import SpeechRecognizer

    o = cfg.asr.options
    asr = SpeechRecognizer.shared(cfg.asr.model, "cpu", o.backend, compute_type=o.compute_type, cpu_threads=1,
                                  beam_size=o.beam_size, vad_filter=o.vad_filter, word_timestamps=o.word_timestamps,
                                  language=o.language)
    return _speech.wer([(c["text"], asr.transcribe(_speech.decode(c["uri"])).text) for c in clips])


def _hit(m: dict, truth: dict) -> bool:
    if m["asset_uri"] != truth["uri"]:
        return False
    return "start_s" not in truth or (m["start_s"] < truth["end_s"] + 0.5 and m["end_s"] > truth["start_s"] - 0.5)


def phrase_scores(db: str, labels: dict) -> dict[str, float]:
    """recall@1, recall@5, MRR over every spoken phrase, and the moment boundary error."""
    import medialake

    ranks, errs = [], []
    for truth in labels["speech"] + labels["long"]:
        hits = medialake.search(truth["text"], db=db, limit=5)
        rank = next((i + 1 for i, m in enumerate(hits) if _hit(m, truth)), None)
        ranks.append(rank)
        if "start_s" in truth:
            mine = [m for m in hits if _hit(m, truth)]
            if mine:
                errs += [abs(mine[0]["start_s"] - truth["start_s"]), abs(mine[0]["end_s"] - truth["end_s"])]
    n = len(ranks)
    return {"recall1": sum(r == 1 for r in ranks) / n, "recall5": sum(r is not None for r in ranks) / n,
            "mrr": sum(1 / r for r in ranks if r) / n, "moment_err_s": sum(errs) / max(1, len(errs)),
            "moments_found": len(errs) / 2 / max(1, len(labels["long"]))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="offline")
    ap.add_argument("--clips", type=int, default=8, help="speech clips per language (English has 8)")
    ap.add_argument("--work", default=None, help="folder for the corpus and database (default: a temp dir)")
    ap.add_argument("--reuse", action="store_true", help="keep the database already in --work (search-side "
                    "changes re-measured without ingesting again; the corpus is rewritten identically)")
    args = ap.parse_args()

    import medialake
    from medialake.pipelines.config import load_config

    work = Path(args.work or tempfile.mkdtemp(prefix="medialake-quality-"))
    labels = _quality_corpus.build(work / "corpus", args.clips)
    db = str(work / "db.lance")
    if args.reuse and Path(db).is_dir():
        print(f"profile {args.profile}: reusing {db}")
    else:
        summary = medialake.ingest(str(work / "corpus"), db, profile=args.profile)
        print(f"profile {args.profile}: ingested {summary}")
    said, ocr, _ = stored(db)
    cfg = load_config(profile=args.profile)
    pooled = []
    for lang in ("en", "cs", "nl"):
        clips = [c for c in labels["speech"] if c["language"] == lang]
        pairs = [(c["text"], said.get(c["uri"], "")) for c in clips]
        pooled += pairs
        print(f"wer {lang}: pipeline {_speech.wer(pairs):.3f}  raw model {raw_wer(cfg, clips):.3f}  ({len(clips)} clips)")
    wer = _speech.wer(pooled)
    ps = phrase_scores(db, labels)
    print("phrases: recall@1 {recall1:.3f} recall@5 {recall5:.3f} mrr {mrr:.3f}; moments in long recordings: "
          "boundary error {moment_err_s:.2f} s, found {moments_found:.2f}".format(**ps))
    absent = [q for q in labels["absent"] if medialake.search(q, db=db, limit=5)]
    false_hit = len(absent) / len(labels["absent"])
    print(f"absent queries with hits: {len(absent)}/{len(labels['absent'])} {absent}")
    slide_hits = sum(bool((h := medialake.search(s["text"], db=db, limit=1, type="image")))
                     and h[0]["asset_uri"] == s["uri"] for s in labels["slides"])
    false_text = [p for p in labels["photos"] if ocr.get(p)]
    print(f"ocr: slides found at rank 1 {slide_hits}/{len(labels['slides'])}; photos with invented text "
          f"{len(false_text)}/{len(labels['photos'])} {[(Path(p).stem, ocr[p]) for p in false_text]}")
    ocr_false = len(false_text) / len(labels["photos"])
    print(f"RESULT wer={wer:.3f} recall1={ps['recall1']:.3f} mrr={ps['mrr']:.3f} moment_err_s={ps['moment_err_s']:.2f} "
          f"false_hit_rate={false_hit:.3f} ocr_false_text_rate={ocr_false:.3f}")


if __name__ == "__main__":
    main()
