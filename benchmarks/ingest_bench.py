"""End-to-end ingest throughput: medialake vs each stage alone vs a naive sequential loop.

Generates (or reuses) a corpus of videos with espeak-ng speech, speech audio files and
photos, then in one run prints, side by side:

1. the end-to-end wall time of ``medialake.ingest`` with the chosen profile (Ray already up);
2. each stage alone on the same corpus: decode+chunk only (the plan with every model
   role switched off), each model role alone on the previous stage's outputs (an actor
   pool of the role's size and CPUs, timed after its models are loaded), and the LanceDB
   write alone; then the ratio slowest stage / end to end (goal >= 0.85);
3. a naive sequential script (a separate process: for each file PyAV decode with the same
   operator functions, the same models called directly, one LanceDB add; then the same
   summaries and indexes medialake writes after its stream) and the ratio
   naive / medialake (goal >= 1.7 on 2 cores), checking that both wrote the same segments
   with the same transcripts. It runs twice: with the libraries' defaults for the knobs
   medialake tunes without changing what is written (thread counts, the OCR detector's
   input size: what a script that just calls the models gets), and with medialake's own
   settings, so the share of the gain that streaming alone brings is printed too;
4. the peak memory of each (RSS summed over the process tree, sampled every 0.2 s: the
   driver plus the Ray workers and daemons for the pipeline);
5. warm-up reported apart: Ray start-up and model load.

The machine may be shared: ``--repeat N`` runs all of it N times back to back and
reports the round with the lowest load average; CPU-seconds are printed beside the
wall times because other jobs hardly change them.

Needs Debian's ``espeak-ng`` for the speech. Default sizes (a few minutes on 2 cores)::

    python benchmarks/ingest_bench.py

The issue's size (tens of minutes on 2 cores)::

    python benchmarks/ingest_bench.py --videos 40 --video-seconds 30 --audios 20 --photos 100
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import resource
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MEDIALAKE_PROGRESS", "0")

import psutil  # noqa: E402
import pyarrow as pa  # noqa: E402

from _corpus import make_corpus  # noqa: E402
from _meter import TreeMeter  # noqa: E402
from medialake.pipelines.config import IngestConfig, RoleConfig, load_config  # noqa: E402


def roles(cfg: IngestConfig) -> dict[str, RoleConfig]:
    return {name: getattr(cfg, name) for name in type(cfg).model_fields if isinstance(getattr(cfg, name), RoleConfig)}


def without_models(cfg: IngestConfig) -> IngestConfig:
    """The same config with every model role switched off: the plan is decode+chunk only."""
    return cfg.model_copy(update={n: r.model_copy(update={"model": None}) for n, r in roles(cfg).items()})


def rebatch(tables: list[pa.Table], size: int) -> list[pa.Table]:
    t = pa.concat_tables([x for x in tables if x.num_rows], promote_options="permissive") if tables else None
    if t is None or t.num_rows == 0:
        return []
    t = t.combine_chunks()
    return [t.slice(i, size) for i in range(0, t.num_rows, size)]


def segment_map(db: str) -> dict[str, str | None]:
    from medialake.store import Store

    t = Store(db, create=False).table("segments").to_arrow().select(["segment_id", "transcript"])
    return dict(zip(t.column("segment_id").to_pylist(), t.column("transcript").to_pylist()))


# --------------------------------------------------------------------------- stages alone

def role_alone(step, batches: list[pa.Table]) -> tuple[float, float, list[pa.Table]]:
    """Run one model role as an actor pool of its configured size, CPUs and threads (an
    actor of ``threads: 2`` runs two batches at once, as in the pipeline).

    Returns (seconds until every actor has loaded its model, seconds to process all
    batches once loaded, output batches).
    """
    import ray
    from ray.util import ActorPool

    from medialake.pipelines.adapter import stage_args

    args = stage_args(step)

    @ray.remote
    class RoleAlone:
        def __init__(self, cls, kwargs):
            self.fn = cls(**kwargs)

        def ready(self):
            return True

        def run(self, batch):
            return self.fn(batch)

    opts = {"num_cpus": args.get("num_cpus") or 0}
    threads = max(1, getattr(step.role, "threads", 1))  # getattr: trees before `threads` (README A/Bs)
    if threads > 1:
        opts["max_concurrency"] = threads
    if args.get("num_gpus"):
        opts["num_gpus"] = args["num_gpus"]
    size = args["compute"].max_size if hasattr(args["compute"], "max_size") else step.role.concurrency
    t0 = time.perf_counter()
    actors = [RoleAlone.options(name=None, **opts).remote(step.cls, args["fn_constructor_kwargs"])
              for _ in range(int(size))]
    ray.get([a.ready.remote() for a in actors])
    load = time.perf_counter() - t0
    refs = [ray.put(b) for b in batches]
    t1 = time.perf_counter()
    outs = list(ActorPool([a for a in actors for _ in range(threads)]).map(lambda a, r: a.run.remote(r), refs))
    run = time.perf_counter() - t1
    for a in actors:
        ray.kill(a)
    return load, run, outs


def write_alone(batches: list[pa.Table], db: str, version: str) -> float:
    from medialake.operators.sink import LanceSink
    from medialake.store import Store

    t0 = time.perf_counter()
    store = Store(db)
    sink = LanceSink(store, config_hash=version)
    for b in batches:
        sink.write(b)
    sink.close()
    store.refresh_indexes()
    return time.perf_counter() - t0


# --------------------------------------------------------------------------- naive loop

#: The settings a script gets when it calls the libraries with their defaults, for the
#: knobs medialake tunes that leave the output the same (thread counts, the OCR detector's
#: input size). Settings that decide the output (the models, Whisper's compute type, beam
#: and VAD, the silence gate) stay as in the config, so both write the same transcripts.
LIBRARY_DEFAULTS = {
    "asr": {"cpu_threads": 0},  # CTranslate2 picks its thread count
    "ocr": {"threads": 0, "det_side": 736},  # onnxruntime on every core; rapidocr's det limit_side_len
}


def naive(corpus: str, db: str, cfg: IngestConfig, defaults: bool = False) -> dict:
    """The script a user would write without medialake: one file at a time, in one process.

    ``defaults``: call the models with the libraries' defaults (:data:`LIBRARY_DEFAULTS`),
    as a script that just calls them would; otherwise with medialake's tuned settings,
    each model given every core (one process), so only streaming differs.
    """
    from medialake.operators.decode import decode_file, failed_row, to_stream_table
    from medialake.operators.scan import scan
    from medialake.operators.sink import LanceSink
    from medialake.pipelines.adapter import payload_drops, stage_args, steps
    from medialake.pipelines.plan import records_table
    from medialake.pipelines.summaries import summarize_assets
    from medialake.store import Store, maintain

    import lancedb  # noqa: F401  (library import is start-up, as in the driver of [1])

    decode_cfg = cfg.decode
    if "frames" in payload_drops(steps(cfg))[0]:  # no model looks at frames: sample none, as [1] does
        decode_cfg = decode_cfg.model_copy(update={"frames_per_segment": 0})
    t0, c0 = time.perf_counter(), time.process_time()
    models = []
    for step in steps(cfg):
        kwargs = dict(stage_args(step)["fn_constructor_kwargs"])
        kwargs.pop("threads", None)  # one call at a time: the loop's model runs on every core instead
        opts = kwargs["options"]
        if defaults:
            opts = opts.model_copy(update=LIBRARY_DEFAULTS.get(step.name, {}))
        elif "cpu_threads" in type(opts).model_fields:  # one process: give the model every core
            opts = opts.model_copy(update={"cpu_threads": max(int(opts.cpu_threads or 0), os.cpu_count() or 1)})
        kwargs["options"] = opts
        models.append((step.cls(**kwargs), step.role.batch_size))
    load = time.perf_counter() - t0
    store = Store(db)
    sink = LanceSink(store, config_hash=cfg.config_hash())
    files = records_table(scan(corpus, cfg.extensions)).to_pylist()
    for record in files:
        try:
            rows = decode_file(record, decode_cfg)
        except Exception as e:
            rows = [failed_row(record, e)]
        table = to_stream_table(rows)
        for model, bs in models:
            table = pa.concat_tables([model(table.slice(i, bs)) for i in range(0, table.num_rows, bs)])
        sink.write(table)
        sink.flush()  # one LanceDB add per file
    counts = sink.close()
    # the same tables medialake leaves: a summary per asset (its summarizer reuses the text
    # encoder loaded above, as one process would), then the indexes and compaction
    summarize_assets(store, [r["asset_id"] for r in files], cfg)
    maintain(store)
    return {"seconds": time.perf_counter() - t0, "cpu_s": time.process_time() - c0, "load_s": load,
            "segments": counts.segments, "failed": counts.failed}


def run_e2e(corpus: str, db: str, cfg: IngestConfig) -> dict:
    """``medialake.ingest`` on the corpus, with the process tree metered."""
    import medialake

    with TreeMeter() as mem:
        t = time.perf_counter()
        summary = medialake.ingest(corpus, db, config=cfg, full=True)
        wall = time.perf_counter() - t
    return {"s": wall, "cpu_s": mem.cpu_s, "cpu_parts": mem.cpu_parts, "cpu_labels": mem.cpu_by_label, "peak": mem.peak,
            "peak_parts": mem.peak_parts, "peak_procs": mem.peak_procs, "summary": summary}


def run_naive(a, corpus: str, db: str, defaults: bool) -> dict:
    """The naive loop in a child process (its memory is its own); Ray stays up, idle, beside it."""
    cmd = [sys.executable, __file__, "--naive-only", corpus, db, "--profile", a.profile]
    if defaults:
        cmd.append("--library-defaults")
    if a.config:
        cmd += ["--config", a.config]
    for item in a.set:
        cmd += ["--set", item]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with TreeMeter() as idle:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        with TreeMeter(proc.pid) as nmem:
            out, _ = proc.communicate()
        wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise SystemExit(f"naive loop failed with exit code {proc.returncode}")
    nv = json.loads(out.strip().splitlines()[-1])
    own = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
    ray_idle = sum(last - idle._cpu_first.get(p, 0.0) for p, last in idle._cpu_last.items() if p not in nmem._cpu_last)
    return {**nv, "peak_rss": nmem.peak, "process_cpu_s": own, "ray_idle_cpu_s": ray_idle,
            "process_s": wall}


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=6)
    ap.add_argument("--video-seconds", type=float, default=30.0)
    ap.add_argument("--audios", type=int, default=4)
    ap.add_argument("--audio-seconds", type=float, default=20.0)
    ap.add_argument("--photos", type=int, default=20)
    ap.add_argument("--corpus", help="corpus folder (default: a temp folder named after the sizes; reused)")
    ap.add_argument("--profile", default="offline")
    ap.add_argument("--config", help="YAML overrides, as for `medialake ingest --config`")
    ap.add_argument("--set", action="append", default=[], metavar="ROLE.FIELD=JSON",
                    help="override one field, e.g. --set asr.concurrency=2 --set 'asr.options={\"cpu_threads\":1}'")
    ap.add_argument("--num-cpus", type=int, default=None, help="CPUs for the local Ray (default: all)")
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument("--skip-small", action="store_true", help="skip the cold 5-sample-file run ([6])")
    ap.add_argument("--repeat", type=int, default=1,
                    help="rounds of all measurements; the round with the lowest load average is reported")
    ap.add_argument("--json", help="also write the figures to this JSON file")
    ap.add_argument("--naive-only", nargs=2, metavar=("CORPUS", "DB"), help=argparse.SUPPRESS)
    ap.add_argument("--library-defaults", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)

    overrides: dict = {}
    for item in a.set:
        key, _, val = item.partition("=")
        sec, _, field = key.partition(".")
        try:
            v = json.loads(val)
        except json.JSONDecodeError:
            v = val
        overrides.setdefault(sec, {})[field] = v
    cfg = load_config(a.config, profile=a.profile, overrides=overrides)

    if a.naive_only:
        print(json.dumps(naive(a.naive_only[0], a.naive_only[1], cfg, defaults=a.library_defaults)))
        return 0

    sizes = (a.videos, a.video_seconds, a.audios, a.audio_seconds, a.photos)
    corpus = a.corpus or os.path.join(tempfile.gettempdir(), "medialake-bench-corpus-" + "-".join(f"{s:g}" for s in sizes))
    t = time.perf_counter()
    manifest = make_corpus(corpus, *sizes)
    print(f"corpus: {a.videos} videos x {a.video_seconds:g} s, {a.audios} audio x {a.audio_seconds:g} s, "
          f"{a.photos} photos, {manifest['bytes'] / 1e6:.1f} MB at {corpus} ({time.perf_counter() - t:.1f} s)")
    # asked in a child process: importing torch here would put 0.2 GiB of RSS into the
    # driver's figure ([4]) that medialake's own driver does not have (it never imports torch)
    gpu = subprocess.run([sys.executable, "-c", "import torch; print(torch.cuda.is_available())"],
                         capture_output=True, text=True).stdout.strip() == "True"
    print(f"machine: {psutil.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
          f"GPU: {'yes' if gpu else 'none'}; load average {os.getloadavg()[0]:.2f}")
    print("config:", {n: {"model": r.model, "concurrency": r.concurrency, "threads": getattr(r, "threads", 1),
                          "num_cpus": r.num_cpus,
                          "batch_size": r.batch_size, **r.options.model_dump(exclude_defaults=True)} for n, r in roles(cfg).items() if r.model},
          "decode.num_cpus =", cfg.decode.num_cpus)

    from medialake.operators.scan import scan
    from medialake.pipelines.adapter import new_ledger, steps
    from medialake.pipelines.plan import build
    from medialake.schema import PAYLOADS
    from medialake.pipelines.runtime import ensure_ray

    work = tempfile.mkdtemp(prefix="medialake-bench-")
    res: dict = {"corpus": corpus, "sizes": dict(zip(("videos", "video_s", "audios", "audio_s", "photos"), sizes))}

    t = time.perf_counter()
    ray = ensure_ray(num_cpus=a.num_cpus)
    res["ray_start_s"] = time.perf_counter() - t
    t = time.perf_counter()
    import lancedb  # noqa: F401  (library imports are start-up, reported with Ray's; after Ray forks)

    from medialake.operators import sink  # noqa: F401
    res["imports_s"] = time.perf_counter() - t

    def one_round(i: int) -> dict:
        """end to end, decode alone, each role alone, the write alone, the naive loop: back to back."""
        r: dict = {"loadavg": [os.getloadavg()[0]]}
        # end to end first, on the Ray that `medialake ingest` would find. Run after decode
        # alone (as up to 2026-12-04), it met that run's decode task worker still alive and
        # idle, 0.46 GiB of RSS that medialake's own run does not start (its decode is fused
        # into the model pool), and counted it in medialake's peak.
        r["e2e"] = run_e2e(corpus, os.path.join(work, f"e2e{i}.lance"), cfg)
        # decode+chunk alone: the plan with every model role off
        stages, cpu, loads = {}, {}, {}
        with TreeMeter() as m:
            t = time.perf_counter()
            ledger = new_ledger()  # ended here, as medialake.ingest ends its run's, not left to the GC
            decoded = list(build(records, without_models(cfg), keep=needed, ledger=ledger).iter_batches(
                batch_size=None, batch_format="pyarrow"))
            ledger.close()
            stages["decode+chunk"] = time.perf_counter() - t
        cpu["decode+chunk"] = m.cpu_s
        r["rows"] = sum(b.num_rows for b in decoded)
        # the decoded rows (PCM, frames) wait on disk while [1] runs, not in this process,
        # whose RSS is counted as medialake's driver there
        spill = os.path.join(work, f"decoded{i}.arrow")
        decoded = rebatch(decoded, max(r["rows"], 1))
        if decoded:
            with pa.OSFile(spill, "wb") as f, pa.ipc.new_file(f, decoded[0].schema) as w:
                w.write_table(decoded[0])
        del decoded
        pa.default_memory_pool().release_unused()
        batches = []
        if os.path.exists(spill):
            with pa.OSFile(spill, "rb") as f:
                batches = [pa.ipc.open_file(f).read_all()]
        for step in steps(cfg):
            with TreeMeter() as m:  # CPU-s here include the actors' model load
                load, run, batches = role_alone(step, rebatch(batches, step.role.batch_size))
            loads[step.name], stages[step.name], cpu[step.name] = load, run, m.cpu_s
        with TreeMeter() as m:
            stages["write"] = write_alone(batches, os.path.join(work, f"write{i}.lance"), cfg.config_hash())
        cpu["write"] = m.cpu_s
        r.update(stages=stages, cpu=cpu, loads=loads)
        slowest = max(stages, key=stages.get)
        # The stream cannot outrun its slowest stage before that stage's actors have loaded
        # their models; other roles load meanwhile. So that load is the warm-up to take out.
        warm = loads.get(slowest, 0.0)
        e2e = r["e2e"]["s"]
        first = r["e2e"]["summary"].first_result_s or 0.0
        r.update(slowest=slowest, warm=warm, first=first, ratio_slowest=stages[slowest] / e2e,
                 ratio_slowest_warm=stages[slowest] / max(e2e - warm, 1e-9))
        if not a.skip_naive:
            for key, defaults in (("naive", True), ("naive_tuned", False)):
                nv = run_naive(a, corpus, os.path.join(work, f"{key}{i}.lance"), defaults)
                r[key] = nv
                r["ratio_" + key] = nv["seconds"] / e2e
                r[f"ratio_{key}_warm"] = (nv["seconds"] - nv["load_s"]) / max(e2e - warm, 1e-9)
        r["loadavg"].append(os.getloadavg()[0])
        print(f"    round {i + 1} (load average {r['loadavg'][0]:.1f} -> {r['loadavg'][1]:.1f}): medialake {e2e:.1f} s, "
              f"{slowest} alone {stages[slowest]:.1f} s, slowest/e2e {r['ratio_slowest']:.2f}"
              + (f", naive {r['naive']['seconds']:.1f} s ({r['ratio_naive']:.2f}x), naive with medialake's "
                 f"settings {r['naive_tuned']['seconds']:.1f} s ({r['ratio_naive_tuned']:.2f}x)" if "naive" in r else ""),
              flush=True)
        return r

    records = scan(corpus, cfg.extensions)
    # decode alone keeps the payloads the roles will read (the full plan passes them on)
    needed = tuple(c for c in PAYLOADS if any(c in s.cls.reads for s in steps(cfg)))
    rounds = [one_round(i) for i in range(a.repeat)]
    ray.shutdown()
    # Report the round the other users of the machine disturbed least.
    k = min(range(len(rounds)), key=lambda j: sum(rounds[j]["loadavg"]))
    r = rounds[k]
    e, stages, cpu, loads, slowest, warm = r["e2e"], r["stages"], r["cpu"], r["loads"], r["slowest"], r["warm"]
    res["rounds"] = [{kk: (v if kk != "e2e" else {x: y for x, y in v.items() if x != "summary"}) for kk, v in q.items()}
                     for q in rounds]
    res["reported_round"] = k + 1
    res["e2e_s"], res["e2e_cpu_s"], res["e2e_cpu_parts"] = e["s"], e["cpu_s"], e["cpu_parts"]
    res["e2e_peak_rss"] = max(q["e2e"]["peak"] for q in rounds)
    res["e2e_peak_parts"] = max((q["e2e"] for q in rounds), key=lambda q: q["peak"])["peak_parts"]
    res["e2e_peak_procs"] = max((q["e2e"] for q in rounds), key=lambda q: q["peak"])["peak_procs"]
    print(f"\nround {k + 1} of {a.repeat} (the least loaded machine):")
    print(f"[1] medialake ingest ({a.profile}): {e['s']:.1f} s wall, {e['cpu_s']:.1f} CPU-s ("
          + ", ".join(f"{kk} {v:.1f}" for kk, v in e["cpu_parts"].items()) + f")\n    {e['summary'].line()}")
    print("    CPU-s by process: " + ", ".join(f"{kk} {v:.1f}" for kk, v in list(e["cpu_labels"].items())[:8]))
    print("[2] each stage alone on the same corpus (decode ran just after [1]; model roles: actor pool of\n"
          "    the configured size and CPUs, timed after load; then the write):")
    for name, sec in stages.items():
        print(f"      {name:<14} {sec:7.1f} s wall {cpu[name]:7.1f} CPU-s" + ("   <- slowest" if name == slowest else ""))
    print(f"      ({r['rows']} rows out of decode; sum of stages {sum(stages.values()):.1f} s wall, "
          f"{sum(cpu.values()):.1f} CPU-s; CPU-s of roles include their model load)")
    print(f"    slowest / end-to-end = {stages[slowest]:.1f} / {e['s']:.1f} = {r['ratio_slowest']:.2f}"
          f"; with {slowest}'s model load ({warm:.1f} s) taken out of end-to-end: "
          f"{r['ratio_slowest_warm']:.2f}  (goal >= 0.85)\n    the first finished segment reached the sink "
          f"{r['first']:.1f} s into the run (a batch of the last role's batch_size has to fill first); "
          f"the slowest stage had done much of its work by then, so no 'steady state' ratio is taken from it")
    if "naive" in r:
        res["naive"] = {**r["naive"], "peak_rss": max(q["naive"]["peak_rss"] for q in rounds)}
        res["naive_tuned"] = {**r["naive_tuned"], "peak_rss": max(q["naive_tuned"]["peak_rss"] for q in rounds)}
        ours = segment_map(os.path.join(work, f"e2e{k}.lance"))
        print("[3] naive sequential loop (one file at a time in one process: decode, each model, one LanceDB add):")
        for key, label in (("naive", "the models called with the libraries' defaults ("
                            + "; ".join(f"{n} {o}" for n, o in LIBRARY_DEFAULTS.items()) + ")"),
                           ("naive_tuned", "the models called with medialake's settings, each given every core: "
                            "streaming is all that differs")):
            nv = r[key]
            theirs = segment_map(os.path.join(work, f"{key}{k}.lance"))
            same_ids = set(ours) == set(theirs)
            diff = [kk for kk in ours if kk in theirs and (ours[kk] or "") != (theirs[kk] or "")]
            res["check_" + key] = {"segments": (len(ours), len(theirs)), "same_ids": same_ids,
                                   "transcripts_differ": len(diff)}
            print(f"  {key}: {label}\n    {nv['seconds']:.1f} s wall (incl. model load {nv['load_s']:.1f} s), "
                  f"{nv['cpu_s']:.1f} CPU-s in the loop, {nv['process_cpu_s']:.1f} CPU-s for the process "
                  f"(the idle Ray beside it used {nv['ray_idle_cpu_s']:.1f} CPU-s)")
            print(f"    {key} / medialake = {nv['seconds']:.1f} / {e['s']:.1f} = {r['ratio_' + key]:.2f}x; "
                  f"model loads taken out of both: {r[f'ratio_{key}_warm']:.2f}x"
                  + ("  (goal >= 1.7x)" if key == "naive" else "")
                  + f"; CPU-s naive / medialake = {nv['cpu_s'] / e['cpu_s']:.2f}")
            print(f"    check: segments medialake {len(ours)}, naive {len(theirs)}, same ids: {same_ids}, "
                  f"transcripts that differ: {len(diff)} -> {'OK' if same_ids and not diff else 'MISMATCH'}")
            for kk in diff[:3]:
                print(f"      {kk}: medialake {ours[kk]!r} / naive {theirs[kk]!r}")

    gib = 2**30
    parts = ", ".join(f"{k} {v / gib:.2f}" for k, v in res["e2e_peak_parts"].items())
    print(f"[4] peak memory (RSS, process tree): medialake {res['e2e_peak_rss'] / gib:.2f} GiB ({parts})"
          + (f"; naive {res['naive']['peak_rss'] / gib:.2f} GiB, with medialake's settings "
             f"{res['naive_tuned']['peak_rss'] / gib:.2f} GiB" if "naive" in res else ""))
    print("    medialake's processes at its peak (RSS, MiB): "
          + ", ".join(f"{label} {rss / 2**20:.0f}" for label, rss in res["e2e_peak_procs"]))
    print(f"[5] warm-up: Ray start {res['ray_start_s']:.1f} s and driver imports (lancedb) {res['imports_s']:.1f} s "
          f"(neither in [1]); model load per role "
          + ", ".join(f"{k} {v:.1f} s" for k, v in loads.items()) + " (pool start + load; inside [1]"
          + (f"; naive: {res['naive']['load_s']:.1f} s, inside its figure)" if "naive" in res else ")"))
    print(f"    load average at the end: {os.getloadavg()[0]:.2f} (the machine is shared: compare ratios, not runs)")
    if not a.skip_small:
        from _small import small_ratio

        res["small"] = small_ratio(__file__, a.profile, ["--config", a.config] if a.config else [],
                                   [x for item in a.set for x in ("--set", item)])
        print(f"[6] 5 sample files from a cold start: medialake {res['small']['medialake_s']:.1f} s (process: "
              f"imports, Ray start, models), naive loop {res['small']['loop_s']:.1f} s (process: imports, models): "
              f"{res['small']['ratio']:.2f}x")
    if "naive_tuned" in r:
        res["floors"] = floors(r, res, os.cpu_count() or 1)
        f = res["floors"]
        print(f"[7] floors on {f['cores']} cores: a run takes at least its CPU-s / cores. medialake's "
              f"{e['cpu_s']:.1f} CPU-s -> {f['own_floor_s']:.1f} s: speedup_vs_naive_tuned at most "
              f"{f['speedup_at_own_cpu']:.2f} at this CPU. A stream that spent only the loop's "
              f"{r['naive_tuned']['cpu_s']:.1f} CPU-s, beside an idle Ray ({f['ray_idle_cores']:.2f} cores while the "
              f"loop ran) -> {f['loop_floor_s']:.1f} s: at most {f['speedup_at_loop_cpu']:.2f}; with this run's "
              f"{f['ray_overhead_cpu_s']:.1f} CPU-s outside the model workers (driver, Ray Data's actors, daemons) "
              f"added to the loop's -> {f['loop_plus_overhead_floor_s']:.1f} s: at most "
              f"{f['speedup_at_loop_cpu_plus_overhead']:.2f}. The slowest stage alone ({r['slowest']}, every core, "
              f"{f['slowest_alone_s']:.1f} s) bounds the stream: at most {f['speedup_at_slowest_stage']:.2f}.\n"
              f"    memory: Ray's own processes at medialake's peak (daemons, Ray Data's actors, idle workers) "
              f"{f['ray_own_rss'] / gib:.2f} GiB + the driver (Ray Data's executor, the commits) "
              f"{f['driver_rss'] / gib:.2f} GiB + a model worker at least the loop's size (it imports all the loop "
              f"does, and Ray) {res['naive_tuned']['peak_rss'] / gib:.2f} GiB -> memory_ratio at least "
              f"{f['memory_ratio_floor']:.2f}")
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1, default=str))
    print(result_line(r, res))
    return 0


def is_ray_own(label: str) -> bool:
    """A process of Ray's own at the peak (a daemon, Ray Data's actors, an idle worker), not
    the driver, a model pool or a decode task."""
    return label != "driver" and not any(k in label for k in ("MapWorker", "MapBatches", "decode", "ReadRange"))


def floors(r: dict, res: dict, cores: int) -> dict:
    """What the round's own figures bound. Wall time: by CPU-s / cores (medialake's own; the
    loop's beside an idle Ray; the loop's plus this run's CPU-s outside the model workers)
    and by the slowest stage alone. Memory: Ray's own processes + the driver + a model
    worker no smaller than the loop's one process (it imports all that process does, PyAV,
    the models, pyarrow, lance for its fragments, and Ray's core worker besides)."""
    e, nv = r["e2e"], r["naive_tuned"]
    idle_cores = nv["ray_idle_cpu_s"] / max(nv["process_s"], 1e-9)
    own_floor = e["cpu_s"] / cores
    loop_floor = nv["cpu_s"] / max(cores - idle_cores, 1e-9)
    # CPU-s of the run outside the model workers and decode tasks: the driver (Ray Data's
    # executor, the commits), Ray Data's actors, Ray's daemons
    overhead = sum(v for label, v in e["cpu_labels"].items() if label == "driver" or is_ray_own(label))
    with_overhead = (nv["cpu_s"] + overhead) / cores
    ray_own = sum(rss for label, rss in e["peak_procs"] if is_ray_own(label))
    driver = sum(rss for label, rss in e["peak_procs"] if label == "driver")
    slowest = r["stages"][r["slowest"]]  # a stream is no faster than its slowest stage given every core
    return {"cores": cores, "own_floor_s": own_floor, "speedup_at_own_cpu": nv["seconds"] / own_floor,
            "slowest_alone_s": slowest, "speedup_at_slowest_stage": nv["seconds"] / slowest,
            "ray_idle_cores": idle_cores, "loop_floor_s": loop_floor,
            "speedup_at_loop_cpu": nv["seconds"] / loop_floor, "ray_overhead_cpu_s": overhead,
            "loop_plus_overhead_floor_s": with_overhead, "speedup_at_loop_cpu_plus_overhead": nv["seconds"] / with_overhead,
            "ray_own_rss": ray_own, "driver_rss": driver,
            "memory_ratio_floor": (ray_own + driver + nv["peak_rss"]) / nv["peak_rss"]}


def result_line(r: dict, res: dict) -> str:
    """The RESULT line of the reported round (the loop: medialake's settings)."""
    e = r["e2e"]
    nv = r.get("naive_tuned")
    first = e["summary"].first_commit_s
    nan = float("nan")
    fields = {
        "speedup_vs_naive_tuned": nv["seconds"] / e["s"] if nv else nan,
        "cpu_ratio": e["cpu_s"] / nv["process_cpu_s"] if nv else nan,
        "memory_ratio": e["peak"] / nv["peak_rss"] if nv else nan,
        "first_commit_frac": first / e["s"] if first is not None else nan,
        "overlap": r["ratio_slowest"],
        "transcripts_differ": res.get("check_naive_tuned", {}).get("transcripts_differ", -1),
        "small_ratio": res["small"]["ratio"] if "small" in res else nan,
        "driver_cpu_frac": e["cpu_parts"]["driver"] / e["cpu_s"],
    }
    return "RESULT " + " ".join(f"{k}={v}" if isinstance(v, int) else f"{k}={v:.3f}" for k, v in fields.items())


if __name__ == "__main__":
    raise SystemExit(main())
