"""A real local Ray cluster (``ray start --head`` on 127.0.0.1, own ports and temp dir):
``medialake submit`` runs an ingest on it as a Ray job. The test ends the cluster by the
process ids of that cluster alone (``ray stop`` would end every Ray on the machine)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from medialake.jobs.cli import main
from medialake.store import Store

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _own_processes(tag: str) -> list[psutil.Process]:
    out = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if any(tag in part for part in (p.info["cmdline"] or [])):
                out.append(p)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return out


@pytest.fixture(scope="module")
def cluster():
    ray_bin = Path(sys.executable).parent / "ray"
    if not ray_bin.exists():
        pytest.skip("the `ray` command is not installed next to this python")
    try:
        import aiohttp  # noqa: F401 - the dashboard / job server needs ray[default]
    except ImportError:
        pytest.skip("ray[default] (dashboard, job server) is not installed")
    temp = tempfile.mkdtemp(prefix="mlk-", dir="/tmp")  # short: Ray's socket paths have a length limit
    port, dash, agent, agent_grpc, client, metrics = (_free_port() for _ in range(6))
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("RAY_ADDRESS", None)
    env.pop("PYTHONPATH", None)  # the cluster runs the installed packages; jobs get medialake via py_modules
    cmd = [str(ray_bin), "start", "--head", "--node-ip-address=127.0.0.1", f"--port={port}", f"--temp-dir={temp}",
           "--include-dashboard=true", "--dashboard-host=127.0.0.1", f"--dashboard-port={dash}", "--num-cpus=1",
           # every port its own: another Ray on this machine (the test session's) holds the defaults
           f"--dashboard-agent-listen-port={agent}", f"--dashboard-agent-grpc-port={agent_grpc}",
           f"--ray-client-server-port={client}", f"--metrics-export-port={metrics}",
           "--disable-usage-stats"]
    started = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        url = f"http://127.0.0.1:{dash}"
        from ray.job_submission import JobSubmissionClient

        t0 = time.monotonic()
        while True:
            try:
                JobSubmissionClient(url).list_jobs()
                break
            except Exception:  # noqa: BLE001 - job server still starting
                if time.monotonic() - t0 > 120:
                    raise
                time.sleep(1)
        yield {"url": url, "gcs": f"127.0.0.1:{port}", "temp": temp}
    finally:
        procs = _own_processes(temp)  # only the processes of this cluster: its temp dir is unique
        for p in procs:
            try:
                p.send_signal(signal.SIGTERM)
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(procs, timeout=5)
        for p in alive:
            p.kill()
        shutil.rmtree(temp, ignore_errors=True)


def test_submit_runs_an_ingest_as_a_ray_job_and_returns_its_status(cluster, samples, tmp_path, capsys):
    src = tmp_path / "src"
    shutil.copytree(samples / "images", src)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("asr: {model: null}\ntext: {model: null}\n")
    db = str(tmp_path / "lake.lance")
    rc = main(["submit", "--address", cluster["url"], "--", "ingest", str(src), "--db", db, "--config", str(cfg)])
    out = capsys.readouterr().out
    assert rc == 0, out[-3000:]
    assert "submitted Ray job" in out and "SUCCEEDED" in out
    assert "assets seen: 2, ingested: 2" in out  # the job's own log, streamed back
    assets = Store(db).assets().to_pylist()
    assert sorted(a["status"] for a in assets) == ["done", "done"]

    # a failing job: its status comes back and the exit code says so
    rc = main(["submit", "--address", cluster["url"], "--", "ingest", str(tmp_path / "missing"), "--db", db])
    out = capsys.readouterr().out
    assert rc == 1 and "FAILED" in out and "does not exist" in out


def test_ingest_joins_an_existing_cluster_by_address(cluster, samples, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(samples / "images", src)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text("asr: {model: null}\ntext: {model: null}\n")
    db = str(tmp_path / "lake.lance")
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0", "MEDIALAKE_PROGRESS": "0",
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    out = subprocess.run([sys.executable, "-m", "medialake", "ingest", str(src), "--db", db, "--config", str(cfg),
                          "--address", cluster["gcs"]], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "ingested: 2" in out.stdout
    assert Store(db).table("runs").to_arrow().column("address").to_pylist()[-1] == cluster["gcs"]
