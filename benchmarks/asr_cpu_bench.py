"""CPU of the ``asr`` stage per second of audio, side by side with faster-whisper called raw.

The same 10 s windows of real speech (the clips of ``benchmarks/_speech.py``, Czech,
Dutch and English, joined and cut as the pipeline cuts audio) go through:

- ``raw``: ``WhisperModel.transcribe`` in a plain loop, the profile's model, beam and VAD,
  one CTranslate2 thread, no word timings: what the issue calls the raw model;
- ``raw+words``: the same with ``word_timestamps=True`` (the stage times every word);
- ``stage``: the profile's :class:`~medialake.models.asr.AsrStage` called on Arrow
  batches of those windows (silence check, seeding, language, words, Arrow columns).

CPU-seconds of this process (``time.process_time``) per second of audio; model loading is
outside the timing. All three run in one process, one after the other, so the machine's
load is alike for each (run it with nothing else on the cores for clean figures).

    flock /tmp/ml-bench.lock python benchmarks/asr_cpu_bench.py [--profile offline] [--clips 12]

The last line is ``RESULT raw_cpu_per_s=... stage_cpu_per_s=... ratio=... ratio_vs_words=...``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import _speech  # noqa: E402

SR = 16000


def windows(n: int, window_s: float = 10.0) -> list[np.ndarray]:
    pcm = []
    for lang in ("en", "cs", "nl"):
        for c in _speech.clips(lang, n):
            pcm += [_speech.decode(c.path), np.zeros(SR, np.float32)]
    x = np.concatenate(pcm)
    step = int(window_s * SR)
    return [x[i : i + step] for i in range(0, len(x), step)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profile", default="offline")
    ap.add_argument("--clips", type=int, default=12, help="clips per language")
    ap.add_argument("--repeat", type=int, default=2, help="passes over the windows (the best pass counts)")
    args = ap.parse_args()

    import ctranslate2
    import pyarrow as pa
    from faster_whisper import WhisperModel

    from medialake.models.asr import AsrStage
    from medialake.models.registry import resolve
    from medialake.pipelines.config import load_config

    cfg = load_config(profile=args.profile)
    o = cfg.asr.options.model_copy(update={"cpu_threads": 1})
    wins = windows(args.clips)
    audio_s = sum(len(w) for w in wins) / SR
    print(f"profile {args.profile}: {cfg.asr.model}, beam {o.beam_size}, vad {o.vad_filter}; "
          f"{len(wins)} windows, {audio_s:.1f} s of audio")
    model = WhisperModel(resolve(cfg.asr.model), device="cpu", compute_type=o.compute_type, cpu_threads=1)
    stage = AsrStage(cfg.asr.model, device="cpu", options=o)

    def raw(words: bool) -> None:
        for w in wins:
            ctranslate2.set_random_seed(0)
            segs, _ = model.transcribe(w, beam_size=o.beam_size, vad_filter=o.vad_filter, word_timestamps=words,
                                       condition_on_previous_text=False, language=o.language)
            list(segs)

    def staged() -> None:
        for i in range(0, len(wins), 4):
            part = wins[i : i + 4]
            stage(pa.table({"audio": pa.array([w.tobytes() for w in part], pa.binary()),
                            "start_s": pa.array([10.0 * (i + k) for k in range(len(part))], pa.float64())}))

    list(model.transcribe(wins[0], beam_size=o.beam_size)[0])  # warm-up (first-call allocations), untimed
    cpu = {}
    for name, fn in (("raw", lambda: raw(False)), ("raw+words", lambda: raw(True)), ("stage", staged)):
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.process_time()
            fn()
            best = min(best, time.process_time() - t0)
        cpu[name] = best / audio_s
        print(f"{name:10s} {cpu[name]:.3f} CPU-s per s of audio", flush=True)
    print(f"RESULT raw_cpu_per_s={cpu['raw']:.3f} stage_cpu_per_s={cpu['stage']:.3f} "
          f"ratio={cpu['stage'] / cpu['raw']:.2f} ratio_vs_words={cpu['stage'] / cpu['raw+words']:.2f}")


if __name__ == "__main__":
    main()
