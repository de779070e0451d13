"""Items per second of each offline model role: inside the Ray Data pipeline vs a direct loop.

For each role the same inputs go (1) through ``ds.map_batches(Stage, **stage_args(step))``,
exactly as ``build()`` wires it, on a local Ray, and (2) through the same stage class
called in a plain loop in this process. Model loading is left out of both: the direct
loop loads before timing; the pipeline's rate is measured between the first and the last
batch reaching the driver (steady state), and its rate including start-up is printed too.
The goal is pipeline / direct >= 0.8.

    PYTHONPATH=$PWD python benchmarks/model_bench.py [--roles asr text ocr] [--scale 1]
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MEDIALAKE_PROGRESS", "0")


def asr_inputs(n: int) -> pa.Table:
    from medialake.operators.audio import decode_audio
    from medialake.operators.probe import open_container

    clips = []
    for rel in ("audio/lighthouse_keeper.mp3", "video/cockatoo_budget.mp4"):
        with open_container(str(REPO / "samples" / rel)) as c:
            pcm = decode_audio(c)
        clips += [pcm[i : i + 160000] for i in range(0, len(pcm), 160000)]
    return pa.table({"audio": pa.array([clips[i % len(clips)].tobytes() for i in range(n)], pa.binary())})


def text_inputs(n: int) -> pa.Table:
    words = "the quarterly budget review starts at nine a cockatoo sits on a wooden perch fresh bread island".split()
    rng = np.random.default_rng(0)
    return pa.table({"transcript": [" ".join(rng.choice(words, 12)) for _ in range(n)]})


def ocr_inputs(n: int) -> pa.Table:
    from PIL import Image, ImageDraw, ImageFont

    texts = ["QUARTERLY BUDGET", "Fresh bread", "EXIT 12", "Lighthouse"]
    out = []
    for i in range(n):
        img = Image.new("RGB", (256, 144), "white")
        ImageDraw.Draw(img).text((10, 50), texts[i % 4], fill="black", font=ImageFont.load_default(size=28))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=85)
        out.append(buf.getvalue())
    return pa.table({"thumbnail": pa.array(out, pa.binary())})


def role_setup(role: str, scale: int):
    from medialake.pipelines.config import load_config

    if role == "asr":
        over = {"asr": {"model": "whisper-tiny.en", "batch_size": 2, "options": {"cpu_threads": 2}}}
        return load_config(overrides=over), asr_inputs(8 * scale)
    if role == "asr-base":
        over = {"asr": {"batch_size": 2, "options": {"cpu_threads": 2}}}
        return load_config(overrides=over), asr_inputs(6 * scale)
    if role == "text":
        return load_config(overrides={"text": {"batch_size": 64}}), text_inputs(1024 * scale)
    if role == "ocr":
        return load_config(overrides={"ocr": {"batch_size": 4, "options": {"threads": 2}}}), ocr_inputs(24 * scale)
    raise SystemExit(f"unknown role {role}")


def direct(step, table: pa.Table) -> float:
    from medialake.pipelines.adapter import stage_args

    kw = stage_args(step, available_gpus=0.0)["fn_constructor_kwargs"]
    stage = step.cls(**kw)
    stage(table.slice(0, 1))  # warm up (first-call allocations)
    bs = step.role.batch_size
    t0 = time.perf_counter()
    for i in range(0, table.num_rows, bs):
        stage(table.slice(i, bs))
    return table.num_rows / (time.perf_counter() - t0)


def pipeline(step, table: pa.Table) -> tuple[float, float]:
    import ray

    from medialake.pipelines.adapter import stage_args

    bs = step.role.batch_size
    blocks = [table.slice(i, bs) for i in range(0, table.num_rows, bs)]
    ds = ray.data.from_arrow(blocks).map_batches(step.cls, **stage_args(step))
    t0 = time.perf_counter()
    stamps = []
    for b in ds.iter_batches(batch_size=None, batch_format="pyarrow"):
        stamps.append((time.perf_counter(), b.num_rows))
    total = sum(n for _, n in stamps)
    assert total == table.num_rows, (total, table.num_rows)
    with_start = total / (stamps[-1][0] - t0)
    steady = (total - stamps[0][1]) / (stamps[-1][0] - stamps[0][0]) if len(stamps) > 1 else with_start
    return steady, with_start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--roles", nargs="+", default=["text", "ocr", "asr", "asr-base"])
    ap.add_argument("--scale", type=int, default=1, help="multiply the number of inputs")
    args = ap.parse_args()

    from medialake.pipelines.adapter import steps
    from medialake.pipelines.runtime import ensure_ray

    ensure_ray(num_cpus=2)
    print(f"{'role':10s} {'model':18s} {'items':>6s} {'direct/s':>9s} {'pipeline/s':>11s} {'ratio':>6s}  {'(incl. start-up)':>16s}")
    for role in args.roles:
        cfg, table = role_setup(role, args.scale)
        name = role.split("-")[0]
        step = next(s for s in steps(cfg) if s.name == name)
        d = direct(step, table)
        p, p_all = pipeline(step, table)
        print(f"{role:10s} {step.role.model:18s} {table.num_rows:6d} {d:9.2f} {p:11.2f} {p / d:6.2f}  {p_all:9.2f} ({p_all / d:.2f})",
              flush=True)


if __name__ == "__main__":
    main()
