"""CPU-seconds per 10 s window of the default Whisper (base, int8, VAD, word timings):
one call at a time with 1 and 2 CTranslate2 threads, against two calls at once in two
threads of one process (``asr.threads: 2``: CTranslate2 replicas, ``num_workers=2``).

    python benchmarks/asr_threads_bench.py [AUDIO_DIR] [--windows 8] [--order a,b,c]

AUDIO_DIR defaults to the ingest bench's corpus audio (``python benchmarks/ingest_bench.py``
makes it), else ``samples/``. Each setting runs twice; ``--order`` changes which runs first
(on a shared machine the first phase of a process can run slower). Prints one line per run,
then ``RESULT cpu_s_per_window_serial_1t=X cpu_s_per_window_serial_2t=X
cpu_s_per_window_two_calls=X`` (the lower of each setting's two runs).
"""

from __future__ import annotations

import argparse
import glob
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

SETTINGS = {  # name: (cpu_threads, num_workers, calls at once)
    "serial_1t": (1, 1, 1),
    "serial_2t": (2, 1, 1),
    "two_calls": (1, 2, 2),
}


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def windows(folder: str, n: int):
    from medialake.operators.config import DecodeConfig
    from medialake.operators.decode import decode_stream
    from medialake.operators.scan import scan
    from medialake.pipelines.config import load_config
    from medialake.pipelines.plan import records_table

    files = [r for r in scan(folder, load_config().extensions) if r.media_type in ("audio", "video")]
    if not files:
        raise SystemExit(f"no audio or video under {folder}: run benchmarks/ingest_bench.py first, or name a folder")
    import numpy as np

    out = []
    for block in decode_stream(records_table(files), DecodeConfig(frames_per_segment=0), False, ()):
        for b in block.column("audio").to_pylist():
            if b:
                out.append(np.frombuffer(b, dtype=np.float32))
            if len(out) >= n:
                return out
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = os.path.join(tempfile.gettempdir(), "medialake-bench-corpus-6-30-4-20-20")
    ap.add_argument("folder", nargs="?", default=default if os.path.isdir(default) else str(HERE.parent / "samples"))
    ap.add_argument("--windows", type=int, default=8)
    ap.add_argument("--order", default="serial_1t,serial_2t,two_calls")
    a = ap.parse_args(argv)
    from medialake.models.asr import SpeechRecognizer

    wins = windows(a.folder, a.windows)
    print(f"{len(wins)} windows of up to 10 s from {a.folder}; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}")
    best: dict[str, float] = {}
    for name in a.order.split(","):
        ct, nw, par = SETTINGS[name]
        asr = SpeechRecognizer("whisper-base", device="cpu", cpu_threads=ct, vad_filter=True, word_timestamps=True,
                               num_workers=nw)
        asr.transcribe(wins[0])  # warm
        for _ in range(2):
            c, t = cpu_s(), time.perf_counter()
            if par == 1:
                for w in wins:
                    asr.transcribe(w)
            else:
                ths = [threading.Thread(target=lambda ws=wins[k::par]: [asr.transcribe(w) for w in ws])
                       for k in range(par)]
                for th in ths:
                    th.start()
                for th in ths:
                    th.join()
            per = (cpu_s() - c) / len(wins)
            best[name] = min(best.get(name, per), per)
            print(f"  {name} (cpu_threads {ct}, {par} call(s) at once): {time.perf_counter() - t:.1f} s wall, "
                  f"{per:.2f} CPU-s a window", flush=True)
    print("RESULT " + " ".join(f"cpu_s_per_window_{k}={v:.2f}" for k, v in best.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
