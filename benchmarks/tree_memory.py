"""Per-process RSS, PSS and USS of a ``medialake.ingest`` process tree: at idle after
``ensure_ray()``, at the tree's RSS peak and its PSS peak (sampled every 0.5 s), and 3 s
after the run. Each process is named by its Ray title (``ray::_StatsActor``,
``ray::MapWorker(MapBatches(asr))``) or its daemon (raylet, gcs_server, ...)::

    flock /tmp/ml-bench.lock nice python benchmarks/tree_memory.py /tmp/medialake-bench-corpus-6-30-4-20-20

(the corpus of ``benchmarks/ingest_bench.py``, which makes it). ``IDLE_WAIT`` (seconds, 5)
is the wait after Ray starts before the idle sample.
"""
import os, sys, time, threading, json, tempfile, collections
os.environ.setdefault("RAY_AUTH_MODE", "disabled"); os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1"); os.environ.setdefault("MEDIALAKE_PROGRESS", "0")
import psutil

def label(p):
    if p.pid == os.getpid(): return "driver"
    c = p.cmdline(); s = " ".join(c)
    if c and c[0].startswith("ray::"): return c[0].split(" ")[0][:60]
    for k in ("raylet", "gcs_server", "dashboard/agent.py", "runtime_env/agent/main.py", "log_monitor", "monitor.py", "dashboard.py", "default_worker"):
        if k in s: return k
    return p.name()

def snap(pss=False):
    root = psutil.Process(); out = []
    for p in [root] + root.children(recursive=True):
        try:
            with p.oneshot():
                m = p.memory_full_info() if pss else p.memory_info()
                out.append((p.pid, label(p), m.rss, getattr(m, "pss", 0), getattr(m, "uss", 0)))
        except (psutil.NoSuchProcess, psutil.AccessDenied): pass
    return out

def show(title, rows):
    print(f"== {title}: {len(rows)} processes, RSS {sum(r[2] for r in rows)/2**30:.2f} GiB, PSS {sum(r[3] for r in rows)/2**30:.2f} GiB, USS {sum(r[4] for r in rows)/2**30:.2f} GiB")
    for pid, l, rss, pss, uss in sorted(rows, key=lambda r: -r[2]):
        print(f"   {pid:>7} {l:<55} RSS {rss/2**20:7.0f}  PSS {pss/2**20:7.0f}  USS {uss/2**20:7.0f} MiB")

corpus = sys.argv[1]
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from medialake.pipelines.runtime import ensure_ray
t = time.perf_counter(); ensure_ray(); print(f"ray up {time.perf_counter()-t:.1f} s")
time.sleep(float(os.environ.get("IDLE_WAIT", "5")))
show("idle after ensure_ray", snap(True))
import medialake
peak = {"rss": 0, "rows": None, "pss": 0, "prows": None}
stop = threading.Event()
def loop():
    while not stop.wait(0.5):
        rows = snap(True); r = sum(x[2] for x in rows); q = sum(x[3] for x in rows)
        if r > peak["rss"]: peak.update(rss=r, rows=rows)
        if q > peak["pss"]: peak.update(pss=q, prows=rows)
th = threading.Thread(target=loop, daemon=True); th.start()
t = time.perf_counter()
s = medialake.ingest(corpus, os.path.join(tempfile.mkdtemp(), "db.lance"), full=True)
print(f"ingest {time.perf_counter()-t:.1f} s"); stop.set(); th.join()
show("at peak summed RSS", peak["rows"]); show("at peak summed PSS", peak["prows"])
time.sleep(3); show("after ingest (+3 s)", snap(True))
gib = 2**30
print(f"RESULT peak_rss_gib={peak['rss'] / gib:.3f} peak_pss_gib={peak['pss'] / gib:.3f} "
      f"processes_at_peak={len(peak['rows'])}")
