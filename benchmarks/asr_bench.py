"""Word error rate and CPU of the offline speech recognizers on real speech, per candidate.

Each candidate is the raw faster-whisper model (int8, one CTranslate2 thread, as one
pipeline actor runs it; temperature fallback seeded, as ``SpeechRecognizer`` runs it,
unless the name says t0) called on every clip of the real speech sets of
``benchmarks/_speech.py`` (Czech and Dutch voice acting, English spoken words). Printed per
candidate and language: WER, and CPU-seconds of this process per second of audio.

    flock /tmp/ml-bench.lock python benchmarks/asr_bench.py [--clips 12]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import _speech  # noqa: E402

#: name -> (model, options for transcribe, batched pipeline?, languages it can do)
CANDIDATES = {
    "tiny.en b1 vad": ("whisper-tiny.en", {"beam_size": 1, "vad_filter": True}, False, ("en",)),
    "tiny.en b1": ("whisper-tiny.en", {"beam_size": 1, "vad_filter": False}, False, ("en",)),
    "tiny.en b5 vad": ("whisper-tiny.en", {"beam_size": 5, "vad_filter": True}, False, ("en",)),
    "base b1 vad": ("whisper-base", {"beam_size": 1, "vad_filter": True}, False, ("en", "cs", "nl")),
    "base b1": ("whisper-base", {"beam_size": 1, "vad_filter": False}, False, ("en", "cs", "nl")),
    "base b5 vad": ("whisper-base", {"beam_size": 5, "vad_filter": True}, False, ("en", "cs", "nl")),
    "base b1 vad words": ("whisper-base", {"beam_size": 1, "vad_filter": True, "word_timestamps": True}, False,
                          ("en", "cs", "nl")),
    "base batched": ("whisper-base", {"beam_size": 1, "batch_size": 8}, True, ("en", "cs", "nl")),
    "base b1 vad t0": ("whisper-base", {"beam_size": 1, "vad_filter": True, "temperature": 0.0}, False,
                       ("en", "cs", "nl")),
    "base b1 vad en/cs/nl": ("whisper-base", {"beam_size": 1, "vad_filter": True, "languages": ("en", "cs", "nl")},
                             False, ("en", "cs", "nl")),
}


def run(name: str, sets: dict[str, list], pcm: dict[str, object]) -> dict[str, tuple[float, float]]:
    import ctranslate2
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from medialake.models.registry import resolve

    model_name, opts, batched, langs = CANDIDATES[name]
    model = WhisperModel(resolve(model_name), device="cpu", compute_type="int8", cpu_threads=1)
    runner = BatchedInferencePipeline(model) if batched else model
    out = {}
    for lang, clips in sets.items():
        if lang not in langs:
            continue
        pairs, audio_s, cpu = [], 0.0, 0.0
        for c in clips:
            x = pcm[c.path]
            t0 = time.process_time()
            kw = dict(opts)
            allowed = kw.pop("languages", None)
            if allowed:  # detection restricted to the archive's languages, as asr.options.languages does
                probs = model.detect_language(x, vad_filter=kw.get("vad_filter", False))[2]
                kw["language"] = max((p, code) for code, p in probs if code in allowed)[1]
            ctranslate2.set_random_seed(0)
            segs, _info = runner.transcribe(x, condition_on_previous_text=False, **kw)
            hyp = " ".join(s.text.strip() for s in segs)
            cpu += time.process_time() - t0
            audio_s += len(x) / 16000
            pairs.append((c.text, hyp))
        out[lang] = (_speech.wer(pairs), cpu / audio_s)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", type=int, default=12, help="clips per language")
    ap.add_argument("--only", nargs="*", help="candidate names to run")
    args = ap.parse_args()
    sets = {lang: _speech.clips(lang, args.clips) for lang in ("en", "cs", "nl")}
    pcm = {c.path: _speech.decode(c.path) for cl in sets.values() for c in cl}
    for lang, cl in sets.items():
        print(f"{lang}: {len(cl)} clips, {sum(len(pcm[c.path]) for c in cl) / 16000:.1f} s of audio")
    print(f"{'candidate':20s} " + " ".join(f"{lang + ' wer':>8s} {lang + ' cpu/s':>9s}" for lang in sets))
    for name in args.only or CANDIDATES:
        res = run(name, sets, pcm)
        cells = [f"{res[lang][0]:8.3f} {res[lang][1]:9.3f}" if lang in res else f"{'-':>8s} {'-':>9s}" for lang in sets]
        print(f"{name:20s} " + " ".join(cells), flush=True)


if __name__ == "__main__":
    main()
