"""A two-node Ray cluster on this machine ingesting into a database on a local S3 server.

Starts (and later stops, by the process ids of what it started, nothing else):

- a local S3 server (``moto_server`` from ``moto[server]``) on a free port, with a bucket;
- a Ray head node and a second node: two ``ray start --block`` processes, each in its own
  session, with this run's temp dir and ports of their own (other Ray instances on the
  machine are not touched; stopping sends SIGTERM to those two processes, Ray drains the
  node and ends its processes, and what is left of their process trees is killed). The
  head offers ``{"decode": 1}``, the second node ``{"models": 1}``, standing in for a CPU
  decode node and a GPU model node; the config is ``cluster_config.yaml`` (decode tasks
  ask for a share of ``decode``, the model pool for a share of ``models``), so each runs
  on its own node. (Both nodes are started with ``--node-ip-address=127.0.0.1``; Ray 2.60
  registers them under this machine's address all the same, which is as reachable.)

Then ingests a generated corpus (tiny WAV files, cut in 0.5 s windows: >= 5,000 segments
by default: 10,700) with one model role (a tiny random CLAP audio encoder, tests/tiny_models.py)
into ``s3://<bucket>/lake``, the driver being a process of its own (``_cluster_driver.py``,
what ``medialake ingest --address`` runs; its CPU counts from interpreter start to exit, as
``os.wait4`` reports it, less only the profile's sampling thread): the model actors write the
segment rows as Lance fragments straight to S3 and the driver only commits. It checks
that every expected segment is there exactly once, and prints the driver's CPU per
1,000 segments (goal <= 1.0).

``--kill-worker`` loses the model node mid-run (after the first commit): the head also
offers ``models`` then, so the pool moves there and the run finishes on the head; the
assets committed before the loss must all still be there. The test of the cluster path
(tests/jobs/test_cluster_bench.py) runs this script small, without a loss.

    python benchmarks/cluster_bench.py                    # 200 files x 26 s: 10,700 segments
    python benchmarks/cluster_bench.py --files 100        # 5,250 segments (the default before 2026-12-04)
    python benchmarks/cluster_bench.py --files 6 --seconds 3 --kill-worker
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path[:0] = [str(REPO), str(HERE), str(REPO / "tests")]
os.environ.update(RAY_AUTH_MODE="disabled", RAY_USAGE_STATS_ENABLED="0", MEDIALAKE_PROGRESS="0",
                  HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error")

WINDOW_S = 0.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_s3(bucket: str) -> subprocess.Popen:
    """moto_server on a free port; the AWS_* variables point LanceDB, Lance and pyarrow at it
    (set before Ray starts, so every node inherits them)."""
    port = free_port()
    exe = Path(sys.executable).parent / "moto_server"
    proc = subprocess.Popen([str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION="us-east-1",
                      AWS_DEFAULT_REGION="us-east-1", AWS_ENDPOINT_URL=url, AWS_ENDPOINT=url, AWS_ALLOW_HTTP="true",
                      AWS_EC2_METADATA_DISABLED="true")
    import boto3

    t0 = time.monotonic()
    while True:
        try:
            boto3.client("s3", endpoint_url=url).create_bucket(Bucket=bucket)
            return proc
        except Exception:  # noqa: BLE001 - the server is starting
            if time.monotonic() - t0 > 60 or proc.poll() is not None:
                proc.kill()
                raise SystemExit("the local S3 server (moto_server) did not start")
            time.sleep(0.3)


def make_corpus(root: Path, files: int, seconds: float) -> None:
    from media import make_wav

    root.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        make_wav(root / f"a{i:04d}.wav", seconds=seconds + 0.01 * i, sr=8000, channels=1)


RAY_PORT_FLAGS = ("--node-manager-port", "--object-manager-port", "--metrics-export-port",
                  "--dashboard-agent-listen-port", "--dashboard-agent-grpc-port", "--runtime-env-agent-port")


class Node:
    """One ``ray start --block`` process in its own session; stopping it (SIGTERM: Ray drains
    the node and ends its raylet and workers) touches this node's processes only."""

    def __init__(self, args: list[str], env: dict):
        ray_bin = str(Path(sys.executable).parent / "ray")
        ports = [f"{flag}={free_port()}" for flag in RAY_PORT_FLAGS]
        self.proc = subprocess.Popen([ray_bin, "start", "--block", "--disable-usage-stats", *args, *ports], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)

    def family(self) -> list:
        import psutil

        try:
            return [psutil.Process(self.proc.pid)] + psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    def kill(self) -> None:
        """SIGKILL the node and its processes, like a machine that loses power."""
        import psutil

        procs = self.family()
        for p in procs:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        psutil.wait_procs(procs, timeout=10)

    def stop(self) -> None:
        import psutil

        procs = self.family()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        _, alive = psutil.wait_procs(procs, timeout=45)
        for p in alive:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass


def start_cluster(temp: str, kill_mode: bool) -> tuple[list[Node], str]:
    """Head ``{"decode": 1}`` (and ``{"models": 1}`` as a fallback when the model node is to
    be lost), second node ``{"models": 1}``; 1 CPU for the head, 2 for the model node, a small object store each, every port
    its own, the temp dir ``temp`` (no other Ray on this machine is touched). Returns the
    nodes (head first) once both are alive, and the head's address."""
    import json

    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "PYTHONPATH")}
    env.update(RAY_USAGE_STATS_ENABLED="0", RAY_AUTH_MODE="disabled",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    common = ["--node-ip-address=127.0.0.1", f"--temp-dir={temp}", f"--object-store-memory={200 * 2**20}"]
    port = free_port()
    head_res = {"decode": 1, **({"models": 1} if kill_mode else {})}
    head = Node(["--head", f"--port={port}", "--include-dashboard=false", f"--ray-client-server-port={free_port()}",
                 "--num-cpus=1", f"--resources={json.dumps(head_res)}", *common], env)
    address = f"127.0.0.1:{port}"
    nodes = [head]
    try:
        wait_port(port, head.proc, 180)
        # the model node offers 2 CPUs (this machine's cores): 4 CLAP actors at 0.5 CPU each
        nodes.append(Node([f"--address={address}", "--num-cpus=2", f"--resources={json.dumps({'models': 1})}",
                           *common], env))
    except BaseException:
        for n in nodes:
            n.stop()
        raise
    return nodes, address


def wait_port(port: int, proc: subprocess.Popen, timeout: float) -> None:
    t0 = time.monotonic()
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if proc.poll() is not None or time.monotonic() - t0 > timeout:
                raise SystemExit(f"the Ray head did not start (rc {proc.poll()})") from None
            time.sleep(0.5)


def wait_nodes(n: int, timeout: float = 180) -> None:
    import ray

    t0 = time.monotonic()
    while sum(1 for x in ray.nodes() if x["Alive"]) < n:
        if time.monotonic() - t0 > timeout:
            raise SystemExit(f"only {sum(1 for x in ray.nodes() if x['Alive'])} of {n} Ray nodes came up")
        time.sleep(0.5)


def config(model_dir: str, commit_every_s: float = 5.0):
    """cluster_config.yaml (decode on ``decode`` nodes, model pools on ``models`` nodes, pools
    sized from the cluster) with one model role, the tiny CLAP audio encoder; a commit (of
    the written fragments and the assets they complete) every ``commit_every_s`` seconds."""
    from medialake.pipelines.config import load_config

    off = {"model": None}
    return load_config(REPO / "cluster_config.yaml", overrides={
        "asr": off, "text": off, "ocr": off, "summarizer": off,
        "audio": {"model": model_dir, "batch_size": 64, "num_cpus": 0.5},
        "decode": {"window_s": WINDOW_S, "num_cpus": 0.5},
        "commit_every": 2000, "commit_every_s": commit_every_s,
    })


def expected_ids(src: Path, cfg) -> dict[str, set[str]]:
    from medialake.operators.decode import decode_file
    from medialake.operators.scan import scan

    out = {}
    for r in scan(str(src), cfg.extensions):
        rec = {"asset_id": r.asset_id, "uri": r.uri, "media_type": r.media_type, "size": r.size, "mtime": r.mtime}
        out[r.asset_id] = {row["segment_id"] for row in decode_file(rec, cfg.decode) if row["segment_index"] >= 0}
    return out


def done_assets(db: str) -> dict[str, int]:
    from medialake.store import Store

    try:
        rows = Store(db, create=False).assets(["asset_id", "n_segments"], where="status = 'done'").to_pylist()
    except Exception:  # noqa: BLE001 - tables being created
        return {}
    return {r["asset_id"]: r["n_segments"] for r in rows}


def kill_after_first_commit(worker: Node, db: str, seen: dict, stop: threading.Event) -> None:
    """Lose the model node (its raylet and workers, SIGKILL) once an asset is committed."""
    while not stop.is_set():
        done = done_assets(db)
        if done:
            seen.update(done)
            worker.kill()
            seen["__killed_at__"] = time.monotonic()
            return
        time.sleep(0.5)


class DriverProfile:
    """Where the driver's CPU goes: CPU inside the ingest's phases (wrapped for the run), as
    main-thread CPU (``time.thread_time``) and as the whole process's (``time.process_time``:
    for the phases the main thread runs alone, before and after the stream, that is their
    whole cost, Lance's and LanceDB's native threads included), and CPU per thread of this
    process (sampled once a second: Ray Data's executor thread, the batch iterator's thread,
    Lance's and Ray's native threads, named by their kernel thread name)."""

    PHASES = (("medialake.pipelines.runtime", "ensure_ray", "ray connect"),
              ("medialake.jobs.ingest", "_changes", "scan, diff, orphans"),
              ("medialake.jobs.ingest", "_mark_pending", "mark pending"),
              ("medialake.pipelines.plan", "build", "plan"),
              ("medialake.jobs.ingest", "_process", "stream (pipeline + sink + summaries)"),
              ("medialake.operators.sink", "LanceSink.flush", "commits (fragments + assets)"),
              ("medialake.operators.sink", "LanceSink.write", "sink (receipts + commits)"),
              ("medialake.store", "maintain", "indexes, compaction"),
              ("medialake.pipelines.runtime", "maintain_on_cluster",
               "indexes, compaction (driver's share: a Ray task does it)"),
              ("medialake.pipelines.summaries", "summarize_assets", "summaries"),
              ("medialake.jobs.ingest", "_record_run", "run row"),
              ("ray.data._internal.execution.streaming_executor", "StreamingExecutor._scheduling_loop_step",
               "Ray Data scheduling loop (its thread)"))

    def __init__(self):
        self.cpu: dict[str, float] = {}
        self.process_cpu: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.threads: dict[int, tuple[str, float]] = {}
        self._undo = []
        self._stop = threading.Event()

    def _wrap(self, owner, attr: str, label: str) -> None:
        import functools

        real = getattr(owner, attr)

        @functools.wraps(real)
        def timed(*args, **kwargs):
            t, p = time.thread_time(), time.process_time()
            try:
                return real(*args, **kwargs)
            finally:
                self.cpu[label] = self.cpu.get(label, 0.0) + time.thread_time() - t
                self.calls[label] = self.calls.get(label, 0) + 1
                self.process_cpu[label] = self.process_cpu.get(label, 0.0) + time.process_time() - p

        setattr(owner, attr, timed)
        self._undo.append((owner, attr, real))

    @staticmethod
    def _native_name(tid: int) -> str:
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                return "native:" + f.read().strip()
        except OSError:
            return "native"

    def _sample(self) -> None:
        import psutil

        names = {t.native_id: t.name for t in threading.enumerate()}
        for th in psutil.Process().threads():
            name = names.get(th.id) or self.threads.get(th.id, (None,))[0] or self._native_name(th.id)
            self.threads[th.id] = (name, th.user_time + th.system_time)

    def __enter__(self):
        import importlib

        for mod, path, label in self.PHASES:
            owner = importlib.import_module(mod)
            *parents, attr = path.split(".")
            for part in parents:
                owner = getattr(owner, part)
            self._wrap(owner, attr, label)
        self._sample()
        self._base = {tid: cpu for tid, (_, cpu) in self.threads.items()}
        self._t = threading.Thread(target=lambda: [self._sample() for _ in iter(lambda: self._stop.wait(1.0), True)],
                                   daemon=True, name="driver-profile")
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()
        self._sample()
        for owner, attr, real in reversed(self._undo):
            setattr(owner, attr, real)

    def by_thread(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for tid, (name, cpu) in self.threads.items():
            group = "main" if name == "MainThread" else name.rstrip("0123456789-_ ") or "native"
            out[group] = out.get(group, 0.0) + cpu - self._base.get(tid, 0.0)
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def run_driver(src: Path, db: str, address: str, model: str, out: Path, profile: bool,
               commit_every_s: float) -> dict:
    """Run the ingest in its own process (benchmarks/_cluster_driver.py), as ``medialake
    ingest --address`` would: that process is the driver, and its CPU from interpreter
    start to exit (user + system, ``os.wait4``) is what the driver costs. Returns the
    driver's report with ``cpu_s`` and ``process_s`` (its wall time from spawn to exit)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    cmd = [sys.executable, str(HERE / "_cluster_driver.py"), str(src), db, address, model, str(out),
           f"--commit-every-s={commit_every_s}"]
    for attempt in (1, 2):
        t = time.perf_counter()
        with open(out.with_suffix(".err"), "w+") as err:
            proc = subprocess.Popen(cmd + (["--profile"] if profile else []), env=env, stderr=err)
            _, status, usage = os.wait4(proc.pid, 0)
            err.seek(0)
            text = err.read()
        sys.stderr.write(text)
        proc.returncode = os.waitstatus_to_exitcode(status)
        # Ray start-up race seen on CI: the raylet drops a new driver's registration before any
        # work is done; the driver is started once more (its CPU is that second process's)
        if proc.returncode and attempt == 1 and "Failed to register worker to Raylet" in text:
            print("the driver could not register with the raylet (before any work); starting it again", flush=True)
            continue
        break
    if proc.returncode:
        raise SystemExit(f"the driver process failed (rc {proc.returncode})")
    rep = json.loads(out.read_text())
    rep.update(cpu_s=usage.ru_utime + usage.ru_stime, process_s=time.perf_counter() - t)
    return rep


def probe_placement() -> dict[str, str]:
    """Which node a task asking for a share of each custom resource lands on."""
    import ray

    @ray.remote(num_cpus=0)
    def node_id():
        return ray.get_runtime_context().get_node_id()

    return {r: ray.get(node_id.options(resources={r: 0.01}).remote())[:8] for r in ("decode", "models")}


def check(db: str, expected: dict[str, set[str]]) -> dict:
    from medialake.store import Store

    store = Store(db, create=False)
    segs = store.table("segments").search().select(["segment_id", "asset_id"]).limit(None).to_arrow()
    ids = segs.column("segment_id").to_pylist()
    want = set().union(*expected.values()) if expected else set()
    done = done_assets(db)
    return {"segments": len(set(ids)), "rows": len(ids), "lost": len(want - set(ids)),
            "duplicates": len(ids) - len(set(ids)), "extra": len(set(ids) - want),
            "assets_done": len(done), "assets": len(expected)}


def run(a) -> dict:
    from _meter import TreeMeter
    from tiny_models import clap

    from medialake.pipelines.runtime import ensure_ray

    work = Path(tempfile.mkdtemp(prefix="mlc-", dir="/tmp"))  # short: Ray's socket paths have a length limit
    s3, nodes = None, []
    try:
        s3 = start_s3("medialake")
        db = "s3://medialake/lake"
        src = work / "src"
        make_corpus(src, a.files, a.seconds)
        model = str(clap(work / "clap"))
        cfg = config(model)
        expected = expected_ids(src, cfg)
        nodes, address = start_cluster(str(work / "ray"), a.kill_worker)
        ensure_ray(address)  # what ingest(address=...) would do; done here to wait for both nodes first
        wait_nodes(2)
        placement = probe_placement()
        seen: dict = {}
        stop = threading.Event()
        if a.kill_worker:
            threading.Thread(target=kill_after_first_commit, args=(nodes[1], db, seen, stop), daemon=True).start()
        with TreeMeter(nodes[0].proc.pid, every=1.0) as head_m, TreeMeter(nodes[1].proc.pid, every=1.0) as second_m:
            drv = run_driver(src, db, address, model, work / "driver.json", profile=not a.no_profile,
                             commit_every_s=a.commit_every_s)
        stop.set()
        res = check(db, expected)
        committed_before = {k: v for k, v in seen.items() if not k.startswith("__")}
        after = done_assets(db)
        res.update(nodes=len(nodes), seconds=drv["seconds"], driver_cpu_s=drv["cpu_s"] - drv["measuring_cpu_s"],
                   driver_cpu_with_meters_s=drv["cpu_s"], measuring_cpu_s=drv["measuring_cpu_s"],
                   node_cpu={"head": head_m.cpu_parts, "second": second_m.cpu_parts}, placement=placement,
                   phases=drv["phases"], threads=drv["threads"],
                   process_phases=drv.get("process_phases", {}), process_cpu_at=drv.get("process_cpu_at", {}),
                   calls=drv.get("calls", {}), driver_wall_s=drv["process_s"],
                   commits=drv["commits"], first_commit_s=drv["first_commit_s"], killed=bool(seen),
                   committed_before_kill=len(committed_before),
                   lost_committed=sum(1 for k, n in committed_before.items() if after.get(k) != n),
                   line=drv["line"])
        return res
    finally:
        import ray

        if ray.is_initialized():
            ray.shutdown()
        for n in reversed(nodes):
            n.stop()
        if s3 is not None:
            s3.terminate()
            try:
                s3.wait(timeout=10)
            except subprocess.TimeoutExpired:
                s3.kill()
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=200, help="WAV files (200: 10,700 segments)")
    ap.add_argument("--seconds", type=float, default=26.0, help="length of each WAV (0.5 s windows)")
    ap.add_argument("--no-profile", action="store_true",
                    help="no per-phase and per-thread breakdown of the driver's CPU (nothing sampled in it)")
    ap.add_argument("--commit-every-s", type=float, default=5.0,
                    help="seconds between the sink's commits (fragments, then the assets they complete)")
    ap.add_argument("--kill-worker", action="store_true", help="lose the model node after the first commit")
    a = ap.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f}; corpus {a.files} WAV files x {a.seconds:g} s", flush=True)
    r = run(a)
    k = r["segments"] / 1000 or 1.0
    print(f"ingest: {r['line']}")
    print(f"nodes 2 (head: decode{' + models fallback' if a.kill_worker else ''}; second: models), db on S3; "
          f"{r['commits']} commits, first after {r['first_commit_s'] or float('nan'):.1f} s")
    print("driver CPU-s by phase (main thread): " + ", ".join(f"{k} {v:.2f}" for k, v in r["phases"].items()))
    print("driver CPU-s by phase (whole process): " + ", ".join(f"{k} {v:.2f}" for k, v in r["process_phases"].items()))
    at = r["process_cpu_at"]
    if at:
        print(f"driver process CPU-s: at main() {at['main']:.2f}, at ingest() {at['ingest']:.2f}, after ingest() "
              f"{at['after ingest']:.2f}, at exit {r['driver_cpu_with_meters_s']:.2f}")
    print("calls by phase: " + ", ".join(f"{k} {v}" for k, v in r["calls"].items()))
    print("driver CPU-s by thread: " + ", ".join(f"{k} {v:.2f}" for k, v in list(r["threads"].items())[:14]))
    print(f"placement probe (node id of a task per resource): {r['placement']}")
    print(f"CPU-s: driver {r['driver_cpu_s']:.2f} (its process from spawn to exit, {r['driver_wall_s']:.1f} s: "
          f"{r['driver_cpu_with_meters_s']:.2f}, less {r['measuring_cpu_s']:.2f} in the profile's sampling thread); "
          + "; ".join(f"{name} node: workers {c['workers']:.1f}, daemons {c['ray daemons']:.1f}"
                      for name, c in r["node_cpu"].items()))
    print(f"check: {r['segments']} distinct segments in {r['rows']} rows, {r['lost']} missing, {r['extra']} unexpected, "
          f"{r['assets_done']}/{r['assets']} assets done")
    if a.kill_worker:
        print(f"model node lost: {r['killed']}; assets committed before: {r['committed_before_kill']}, "
              f"of them lost or changed since: {r['lost_committed']}")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")
    print(f"RESULT nodes={r['nodes']} segments={r['segments']} lost={r['lost'] + r['lost_committed']} "
          f"duplicates={r['duplicates']} driver_cpu_per_1k_segments={r['driver_cpu_s'] / k:.3f} "
          f"write_rows_per_s={r['segments'] / r['seconds']:.1f} seconds={r['seconds']:.1f}")
    return 0 if r["lost"] == r["duplicates"] == r["lost_committed"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
