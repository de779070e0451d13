"""Submit a medialake command to a Ray cluster as a Ray job, stream its logs, return its status.

``medialake submit --address http://HOST:8265 -- ingest SOURCE --db s3://bucket/lake``
sends ``python -m medialake ingest ...`` to the cluster's job server (the Ray Job
Submission API on the dashboard port). The medialake package travels with the job in its
runtime environment (``py_modules``), so the cluster needs only medialake's dependencies
(``ray_cluster.yaml``'s setup commands install them). An ``ingest`` without ``--address``
gets ``--address auto``, so it joins the cluster it runs on instead of starting its own.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import sys
import time
from typing import Callable

TERMINAL = {"SUCCEEDED", "FAILED", "STOPPED"}


def package_dir() -> str:
    """The directory of the ``medialake`` package that is running now."""
    import medialake

    return os.path.dirname(os.path.abspath(medialake.__file__))


#: Shell lines that find the interpreter of the cluster's Ray: the job's shell is a child of
#: Ray's job supervisor, a Ray worker whose memory maps name the ``site-packages`` that Ray
#: was loaded from; that prefix's ``bin/python`` is the one with Ray and medialake's
#: dependencies, even when the cluster was started from a virtualenv that was not activated.
FIND_PYTHON = (
    "ML_PY=$(sed -n 's#^.* \\(/.*\\)/lib/python3[.0-9]*/site-packages/ray/_raylet.so$#\\1/bin/python#p' "
    "/proc/$PPID/maps 2>/dev/null | head -n 1); "
    '[ -x "$ML_PY" ] || ML_PY=python; echo "medialake: the job runs $ML_PY"; '
)


def entrypoint(args: list[str], python: str = "auto") -> str:
    """The shell command the job runs: ``python -m medialake ARGS`` (ingest joins the cluster).
    ``python="auto"``: the interpreter of the cluster's Ray (:data:`FIND_PYTHON`)."""
    args = list(args)
    if args and args[0] == "ingest" and not any(a == "--address" or a.startswith("--address=") for a in args):
        args += ["--address", "auto"]
    if python == "auto":
        return FIND_PYTHON + 'exec "$ML_PY" ' + shlex.join(["-m", "medialake", *args])
    return shlex.join([python, "-m", "medialake", *args])


def missing_module_hint(log: str, python: str) -> str | None:
    """One line for a job that died because its interpreter lacks a dependency, or None."""
    import re

    m = re.search(r"ModuleNotFoundError: No module named '([^']+)'", log)
    if not m:
        return None
    used = re.search(r"medialake: the job runs (\S+)", log)
    which = used.group(1) if used else python
    return (f"the cluster's {which} lacks medialake's dependencies (no module {m.group(1)!r}); pass "
            f"--python with the interpreter of the cluster's Ray (e.g. --python /path/to/venv/bin/python)")


def runtime_env(env_vars: dict[str, str] | None = None, pip: list[str] | None = None) -> dict:
    """Runtime environment of the job: this medialake package, quiet Ray, credentials.

    Object-store credentials set here (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
    ``AWS_SESSION_TOKEN``, ``AWS_REGION``, ``AWS_ENDPOINT_URL``,
    ``GOOGLE_APPLICATION_CREDENTIALS``) are passed on to the job.
    """
    env = {"RAY_USAGE_STATS_ENABLED": "0", "MEDIALAKE_PROGRESS": "0", "TRANSFORMERS_VERBOSITY": "error"}
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
              "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "GOOGLE_APPLICATION_CREDENTIALS", "HF_HUB_OFFLINE"):
        if os.environ.get(k):
            env[k] = os.environ[k]
    env.update(env_vars or {})
    out = {"py_modules": [package_dir()], "env_vars": env}
    if pip:
        out["pip"] = list(pip)
    return out


def submit(address: str, args: list[str], *, wait: bool = True, python: str = "auto",
           env_vars: dict[str, str] | None = None, pip: list[str] | None = None,
           echo: Callable[[str], None] = lambda s: print(s, end="", flush=True),
           timeout_s: float | None = None) -> tuple[str, str]:
    """Submit ``medialake ARGS`` to the job server at ``address``; returns ``(job_id, status)``.

    With ``wait`` (the default), streams the job's logs through ``echo`` until it ends.
    """
    from ray.job_submission import JobSubmissionClient

    from medialake.errors import InputError

    try:
        client = JobSubmissionClient(address)
    except Exception as e:  # noqa: BLE001 - connection errors come in many types
        raise InputError(f"cannot reach the Ray job server at {address!r}: {e}; pass the dashboard "
                         f"address, e.g. http://HEAD:8265") from e
    t0 = time.monotonic()
    while True:
        try:
            job_id = client.submit_job(entrypoint=entrypoint(args, python), runtime_env=runtime_env(env_vars, pip),
                                       metadata={"submitted_by": "medialake"})
            break
        except RuntimeError as e:  # a cluster that has just started has no job agent yet
            if "No available agent" not in str(e) or time.monotonic() - t0 > 120:
                raise
            time.sleep(2)
    echo(f"submitted Ray job {job_id} to {address}\n")
    if not wait:
        return job_id, str(client.get_job_status(job_id))

    seen: list[str] = []

    async def tail() -> None:
        async for lines in client.tail_job_logs(job_id):
            seen.append(lines)
            echo(lines)

    try:
        asyncio.run(asyncio.wait_for(tail(), timeout_s) if timeout_s else tail())
    except Exception as e:  # noqa: BLE001 - log streaming is best effort; status is what counts
        echo(f"(log streaming stopped: {type(e).__name__}: {e})\n")
    deadline = time.monotonic() + (timeout_s or 1e9)
    status = str(client.get_job_status(job_id))
    while status.split(".")[-1] not in TERMINAL and time.monotonic() < deadline:
        time.sleep(1)
        status = str(client.get_job_status(job_id))
    status = status.split(".")[-1]
    echo(f"Ray job {job_id}: {status}\n")
    hint = missing_module_hint("".join(seen), python) if status != "SUCCEEDED" else None
    if hint:
        raise InputError(hint)
    return job_id, status


def main_exit_code(status: str) -> int:
    return 0 if status == "SUCCEEDED" else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main_exit_code(submit(sys.argv[1], sys.argv[2:])[1]))
