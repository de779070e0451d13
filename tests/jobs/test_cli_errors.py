"""Bad inputs, as a person meets them at the command line: ``python -m medialake ...`` in a
subprocess. Each answers on stderr in at most three lines that name the input and the fix,
exits with a code other than 0, and shows no traceback unless ``--verbose``.

The read-only database and the disk that fills are real: a read-only bind mount and a
tmpfs of a few hundred kilobytes (we may mount as root; without that permission those
two cases are skipped and say why). For ``submit`` to a cluster whose ``python`` lacks
the dependencies, the interpreter-finding shell lines run under a parent process that has
Ray loaded (what Ray's job supervisor is) and under one that has not, and the hint is
read from the real error of an interpreter that lacks pyarrow.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLES = REPO / "samples"


def medialake(*args: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "medialake", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, env=full_env)


def assert_actionable(r: subprocess.CompletedProcess, *must: str) -> str:
    """The run failed with at most three lines on stderr (besides the progress lines of a run
    that had started), no traceback, naming ``must``."""
    assert r.returncode not in (0, None), (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr, r.stderr
    lines = [x for x in r.stderr.strip().splitlines() if not re.match(r"\[\d+:\d\d\] files \d+/\d+", x)]
    err = "\n".join(lines)
    assert 1 <= len(lines) <= 3, err
    assert "Traceback" not in err, err
    assert any(x.startswith("medialake: error: ") for x in lines), err
    for text in must:
        assert text in err, (text, err)
    return err


def assert_verbose_traceback(*args: str) -> None:
    r = medialake(*args, "--verbose")
    assert r.returncode != 0 and "Traceback (most recent call last)" in r.stderr, r.stderr


def test_missing_source(tmp_path):
    src = tmp_path / "no-such-folder"
    err = assert_actionable(medialake("ingest", str(src), "--db", str(tmp_path / "db")), str(src))
    assert "does not exist" in err
    assert not (tmp_path / "db").exists()  # nothing was created for a run that could not start
    assert_verbose_traceback("ingest", str(src), "--db", str(tmp_path / "db"))


def test_database_path_that_is_a_file(tmp_path):
    db = tmp_path / "notes.txt"
    db.write_text("not a database\n")
    err = assert_actionable(medialake("ingest", str(SAMPLES), "--db", str(db)), str(db), "is a file")
    assert "--db" in err  # the fix: another path
    assert db.read_text() == "not a database\n"


@contextlib.contextmanager
def read_only(path: Path):
    """``path`` made read-only for this process: a read-only bind mount when root (root
    writes through permission bits), else its write bits removed."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    r = subprocess.run(["mount", "--bind", str(path), str(path)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"a read-only directory needs a bind mount as root here, and mount refused: {r.stderr.strip()}")
    try:
        r = subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"remount read-only refused: {r.stderr.strip()}")
        yield
    finally:
        subprocess.run(["umount", str(path)], check=True)


def _small_db(path: Path) -> None:
    """A real medialake database (assets, segments, runs), without Ray: the Store API."""
    import pyarrow as pa

    from medialake.store import Store

    store = Store(str(path))
    store.upsert_assets(pa.Table.from_pylist([{"asset_id": "a1", "uri": "/x/a.mp3", "media_type": "audio",
                                               "status": "done", "n_segments": 0}]))


def test_read_only_database_directory(tmp_path):
    db = tmp_path / "lake"
    _small_db(db)
    with read_only(db):
        assert not os.access(db, os.W_OK) or os.geteuid() == 0
        err = assert_actionable(medialake("ingest", str(SAMPLES), "--db", str(db)), str(db), "not writable")
        assert "--db" in err


def test_unknown_profile(tmp_path):
    err = assert_actionable(medialake("ingest", str(SAMPLES), "--db", str(tmp_path / "db"), "--profile", "fastest"),
                            "'fastest'", "offline")
    assert "profile" in err


def test_model_directory_that_does_not_exist(tmp_path):
    cfg = tmp_path / "models.yaml"
    cfg.write_text("asr:\n  model: /opt/models/whisper-large-v9\n")
    err = assert_actionable(medialake("ingest", str(SAMPLES), "--db", str(tmp_path / "db"), "--config", str(cfg)),
                            "/opt/models/whisper-large-v9", "does not exist")
    assert "asr" in err


def test_yaml_config_with_a_typo(tmp_path):
    cfg = tmp_path / "typo.yaml"
    cfg.write_text("asr:\n  modle: whisper-tiny.en\n")
    err = assert_actionable(medialake("ingest", str(SAMPLES), "--db", str(tmp_path / "db"), "--config", str(cfg)),
                            str(cfg), "asr.modle")
    assert "did you mean 'model'?" in err  # the field meant
    broken = tmp_path / "broken.yaml"
    broken.write_text("asr:\n  model: [whisper-tiny.en\n")
    assert_actionable(medialake("ingest", str(SAMPLES), "--db", str(tmp_path / "db"), "--config", str(broken)),
                      str(broken), "not valid YAML")


def test_search_on_a_path_that_is_no_database(tmp_path):
    empty = tmp_path / "photos"
    empty.mkdir()
    err = assert_actionable(medialake("search", "cockatoo", "--db", str(empty)), str(empty))
    assert "not a medialake database" in err and "medialake ingest" in err
    missing = tmp_path / "nowhere"
    err = assert_actionable(medialake("search", "cockatoo", "--db", str(missing)), str(missing), "does not exist")
    assert_verbose_traceback("search", "cockatoo", "--db", str(missing))


def test_serve_on_a_port_in_use(tmp_path):
    db = tmp_path / "lake"
    _small_db(db)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        err = assert_actionable(medialake("serve", "--db", str(db), "--port", str(port), timeout=60),
                                f"port {port}", "already in use", "--port")
    assert "127.0.0.1" in err


def test_serve_on_a_path_that_is_no_database(tmp_path):
    assert_actionable(medialake("serve", "--db", str(tmp_path / "nowhere"), timeout=60),
                      str(tmp_path / "nowhere"), "does not exist", "medialake ingest")


@contextlib.contextmanager
def tmpfs(path: Path, size: str):
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() != 0:
        pytest.skip("a small filesystem to fill needs `mount -t tmpfs` as root")
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"mount -t tmpfs refused here: {r.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=True)


@pytest.mark.slow
def test_disk_that_fills_during_the_write(tmp_path):
    """A 2 MiB tmpfs, nearly full before the run: the database is created, then a write runs
    out of space. The models are off (the case is about the write, not the work)."""
    cfg = tmp_path / "nomodels.yaml"
    cfg.write_text("asr:\n  model: null\nocr:\n  model: null\ntext:\n  model: null\n")
    with tmpfs(tmp_path / "small", "2m") as mnt:
        free = shutil.disk_usage(mnt).free
        with open(mnt / "filler", "wb") as f:
            f.write(b"\0" * max(0, free - 96 * 1024))  # 96 KiB left: enough to start, not to finish
        db = mnt / "lake"
        r = medialake("ingest", str(SAMPLES), "--db", str(db), "--config", str(cfg), timeout=600)
        err = assert_actionable(r, "disk is full", str(db))
        assert "free space" in err


def test_submit_finds_the_interpreter_of_the_clusters_ray(tmp_path):
    """The job's shell is a child of Ray's job supervisor: FIND_PYTHON reads the parent's
    memory maps for Ray's ``_raylet.so`` and picks that prefix's python, not ``python``
    on PATH. Run here under a Python that has Ray loaded, then under one without."""
    from medialake.jobs.submit import FIND_PYTHON

    show = FIND_PYTHON + 'echo "ML_PY=$ML_PY"'
    parent = ("import subprocess, sys; {imp}"
              "r = subprocess.run(['bash', '-c', sys.argv[1]], capture_output=True, text=True); print(r.stdout)")
    with_ray = subprocess.run([sys.executable, "-c", parent.format(imp="import ray._raylet; "), show],
                              capture_output=True, text=True, timeout=120)
    found = [line.split("=", 1)[1] for line in with_ray.stdout.splitlines() if line.startswith("ML_PY=")]
    assert found, with_ray.stdout + with_ray.stderr
    import ray

    # <prefix>/lib/python3.X/site-packages/ray/__init__.py -> <prefix>/bin/python
    expected = Path(ray.__file__).resolve().parents[4] / "bin" / "python"
    assert Path(found[0]) == expected, (found, expected)
    assert f"medialake: the job runs {expected}" in with_ray.stdout
    without = subprocess.run([sys.executable, "-c", parent.format(imp=""), show], capture_output=True, text=True,
                             timeout=60)
    assert "ML_PY=python" in without.stdout, without.stdout  # nothing found: python on PATH, and the hint below


def test_submit_hint_for_a_python_that_lacks_the_dependencies(tmp_path):
    """The real error of an interpreter without pyarrow becomes one line naming that
    interpreter and ``--python``."""
    from medialake.jobs.submit import missing_module_hint

    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True, timeout=120)
    py = bare / "bin" / "python"
    job = subprocess.run([str(py), "-c", "import pyarrow"], capture_output=True, text=True, timeout=60)
    assert job.returncode != 0 and "ModuleNotFoundError" in job.stderr
    log = f"medialake: the job runs {py}\n" + job.stderr
    hint = missing_module_hint(log, "auto")
    assert hint and str(py) in hint and "'pyarrow'" in hint and "--python" in hint
    assert "\n" not in hint
    assert missing_module_hint("medialake: the job runs /x/python\nall fine\n", "auto") is None
