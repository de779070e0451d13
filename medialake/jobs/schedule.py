"""Run an ingest on a schedule: a crontab line, systemd units, or a Kubernetes CronJob.

``medialake schedule --every nightly --source S --db DB`` prints a crontab line;
``--systemd`` prints a service and a timer; ``--kubernetes`` writes a CronJob that, on
schedule, creates a KubeRay ``RayJob`` (a Ray cluster made for the run, torn down when the
ingest ends). ``--install`` puts the crontab line in the user's crontab, or the units in
``~/.config/systemd/user`` (enabling the timer), or applies the YAML with ``kubectl``.

``--every`` takes ``nightly`` (02:00), ``hourly``, ``daily``, ``weekly`` or a 5-field cron
expression (``"30 1 * * 1-5"``).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from medialake.errors import ConfigError, InputError

ALIASES = {"nightly": "0 2 * * *", "daily": "0 2 * * *", "hourly": "0 * * * *", "weekly": "0 2 * * 0"}
_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\*|\d+(-\d+)?)(/\d+)?)*$")
_DOW = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def cron_expr(every: str) -> str:
    """The 5-field cron expression for ``every`` (an alias or a cron expression)."""
    expr = ALIASES.get(every.strip().lower(), every.strip())
    fields = expr.split()
    if len(fields) != 5 or not all(_FIELD.match(f) for f in fields):
        raise ConfigError(f"--every {every!r} is not 'nightly', 'hourly', 'daily', 'weekly' or a 5-field cron "
                          f"expression like '30 1 * * *' (minute hour day-of-month month day-of-week)")
    return expr


def _cal_field(f: str, width: int = 2) -> str:
    """One cron field in systemd calendar syntax (``1-5`` -> ``01..05``, ``*/15`` -> ``00/15``)."""
    if f == "*":
        return "*"
    parts = []
    for p in f.split(","):
        base, _, step = p.partition("/")
        if base == "*":
            base = "0"
        lo, _, hi = base.partition("-")
        s = f"{int(lo):0{width}d}" + (f"..{int(hi):0{width}d}" if hi else "")
        parts.append(s + (f"/{int(step)}" if step else ""))
    return ",".join(parts)


def on_calendar(expr: str) -> str:
    """systemd ``OnCalendar=`` value equivalent to the cron expression ``expr``."""
    minute, hour, dom, month, dow = expr.split()
    days = ""
    if dow != "*":
        names = []
        for p in dow.split(","):
            lo, _, hi = p.partition("-")
            names.append(_DOW[int(lo)] + (f"..{_DOW[int(hi)]}" if hi else ""))
        days = ",".join(names) + " "
    return f"{days}*-{_cal_field(month)}-{_cal_field(dom)} {_cal_field(hour)}:{_cal_field(minute)}:00"


@dataclass(frozen=True)
class Schedule:
    """What to run and when. ``name`` tells several schedules apart."""

    every: str
    source: str
    db: str
    address: str | None = None
    config: str | None = None
    name: str = "medialake-ingest"
    python: str = sys.executable
    workdir: str | None = None  # default: the current directory
    log: str | None = None

    @property
    def cron(self) -> str:
        return cron_expr(self.every)

    def argv(self) -> list[str]:
        args = ["ingest", self.source, "--db", self.db]
        if self.address:
            args += ["--address", self.address]
        if self.config:
            args += ["--config", self.config]
        return args

    def command(self) -> str:
        return shlex.join([self.python, "-m", "medialake", *self.argv()])

    def log_path(self) -> str:
        return self.log or os.path.join(os.path.expanduser("~"), ".cache", "medialake", f"{self.name}.log")


def crontab_line(s: Schedule) -> str:
    """One crontab line; output goes to ``s.log_path()``; tagged with the schedule name."""
    return (f"{s.cron} mkdir -p {shlex.quote(os.path.dirname(s.log_path()))} && "
            f"cd {shlex.quote(s.workdir or os.getcwd())} && RAY_USAGE_STATS_ENABLED=0 {s.command()} "
            f">> {shlex.quote(s.log_path())} 2>&1 # {s.name}")


def systemd_units(s: Schedule) -> dict[str, str]:
    """``{"NAME.service": text, "NAME.timer": text}`` for a oneshot service on a timer."""
    service = f"""[Unit]
Description=medialake ingest of {s.source} into {s.db}
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
WorkingDirectory={s.workdir or os.getcwd()}
Environment=RAY_USAGE_STATS_ENABLED=0
ExecStart={s.command()}
Nice=10
"""
    timer = f"""[Unit]
Description=Run {s.name}.service on schedule ({s.cron})

[Timer]
OnCalendar={on_calendar(s.cron)}
Persistent=true
RandomizedDelaySec=60
Unit={s.name}.service

[Install]
WantedBy=timers.target
"""
    return {f"{s.name}.service": service, f"{s.name}.timer": timer}


def kubernetes_manifests(s: Schedule, *, namespace: str = "default", image: str = "rayproject/ray:2.60.0-py311",
                         pip: tuple[str, ...] = ("medialake==0.1.0",), gpu_workers: int = 1,
                         cpu_workers: int = 2) -> list[dict]:
    """The Kubernetes objects of a nightly ingest on KubeRay, as plain dicts.

    A ConfigMap holds a ``RayJob`` (head + GPU model workers + CPU decode workers, torn
    down after the job); a CronJob runs ``kubectl create`` on it on schedule, through a
    ServiceAccount allowed to create RayJobs. Object-store credentials come from a
    Secret named ``medialake-credentials`` (``AWS_ACCESS_KEY_ID`` ... ) when it exists.
    """
    import yaml

    labels = {"app.kubernetes.io/name": "medialake", "app.kubernetes.io/instance": s.name}
    rayjob = _rayjob(s, namespace, labels, image, pip, gpu_workers, cpu_workers)
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{s.name}-rayjob", "namespace": namespace, "labels": labels},
          "data": {"rayjob.yaml": yaml.safe_dump(rayjob, sort_keys=False)}}
    return [*_rbac(s, namespace, labels), cm, _cronjob(s, namespace, labels)]


def _rayjob(s: Schedule, namespace: str, labels: dict, image: str, pip: tuple[str, ...], gpu_workers: int,
            cpu_workers: int) -> dict:
    """The RayJob: the ingest as its entrypoint, on a cluster of a head, GPU and CPU workers;
    the worker groups offer the custom resources that ``cluster_config.yaml`` asks for."""
    import yaml

    from medialake.pipelines.adapter import DECODE_RESOURCE, MODELS_RESOURCE

    env_from = [{"secretRef": {"name": "medialake-credentials", "optional": True}}]

    def group(name: str, cpu: str, mem: str, gpus: int = 0) -> dict:
        res = {"cpu": cpu, "memory": mem, **({"nvidia.com/gpu": gpus} if gpus else {})}
        return {"spec": {"containers": [{"name": name, "image": image, "envFrom": env_from,
                                         "resources": {"limits": res, "requests": res}}]}}

    return {
        "apiVersion": "ray.io/v1", "kind": "RayJob",
        "metadata": {"generateName": f"{s.name}-", "namespace": namespace, "labels": labels},
        "spec": {
            "entrypoint": shlex.join(["python", "-m", "medialake", *Schedule(
                s.every, s.source, s.db, "auto", s.config, s.name).argv()]),
            "runtimeEnvYAML": yaml.safe_dump({"pip": list(pip), "env_vars": {"RAY_USAGE_STATS_ENABLED": "0"}}),
            "shutdownAfterJobFinishes": True,
            "ttlSecondsAfterFinished": 3600,
            "activeDeadlineSeconds": 6 * 3600,
            "rayClusterSpec": {
                "rayVersion": "2.60.0",
                "headGroupSpec": {"rayStartParams": {"num-cpus": "0"}, "template": group("ray-head", "2", "8Gi")},
                "workerGroupSpecs": [
                    {"groupName": "gpu-models", "replicas": gpu_workers, "minReplicas": 0, "maxReplicas": gpu_workers,
                     "rayStartParams": {"resources": _ray_resources({MODELS_RESOURCE: 1})},
                     "template": group("ray-worker", "8", "32Gi", gpus=1)},
                    {"groupName": "cpu-decode", "replicas": cpu_workers, "minReplicas": 0, "maxReplicas": cpu_workers,
                     "rayStartParams": {"resources": _ray_resources({DECODE_RESOURCE: 1})},
                     "template": group("ray-worker", "8", "16Gi")},
                ],
            },
        },
    }


def _ray_resources(res: dict[str, float]) -> str:
    """A ``rayStartParams.resources`` value: KubeRay pastes it into ``ray start --resources=``,
    so it is the JSON in double quotes, its own quotes escaped (the form KubeRay documents)."""
    return '"' + json.dumps(res).replace('"', '\\"') + '"'


def _rbac(s: Schedule, namespace: str, labels: dict) -> list[dict]:
    """The ServiceAccount the CronJob runs as, a Role that may create RayJobs, and their binding."""
    sa = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": s.name, "namespace": namespace, "labels": labels}}
    role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
            "metadata": {"name": s.name, "namespace": namespace, "labels": labels},
            "rules": [{"apiGroups": ["ray.io"], "resources": ["rayjobs"], "verbs": ["create", "get", "list"]}]}
    binding = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": s.name, "namespace": namespace, "labels": labels},
               "subjects": [{"kind": "ServiceAccount", "name": s.name, "namespace": namespace}],
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": s.name}}
    return [sa, role, binding]


def _cronjob(s: Schedule, namespace: str, labels: dict) -> dict:
    """The CronJob that runs ``kubectl create`` on the ConfigMap's RayJob on schedule."""
    return {
        "apiVersion": "batch/v1", "kind": "CronJob",
        "metadata": {"name": s.name, "namespace": namespace, "labels": labels},
        "spec": {
            "schedule": s.cron,
            "concurrencyPolicy": "Forbid",  # the database lock refuses a second run anyway
            "successfulJobsHistoryLimit": 3, "failedJobsHistoryLimit": 3,
            "jobTemplate": {"spec": {"backoffLimit": 1, "template": {"metadata": {"labels": labels}, "spec": {
                "serviceAccountName": s.name,
                "restartPolicy": "Never",
                "containers": [{"name": "create-rayjob", "image": "bitnami/kubectl:1.31",
                                "command": ["kubectl", "create", "-f", "/rayjob/rayjob.yaml"],
                                "volumeMounts": [{"name": "rayjob", "mountPath": "/rayjob"}]}],
                "volumes": [{"name": "rayjob", "configMap": {"name": f"{s.name}-rayjob"}}],
            }}}},
        },
    }


def kubernetes_yaml(s: Schedule, **kw) -> str:
    import yaml

    return yaml.safe_dump_all(kubernetes_manifests(s, **kw), sort_keys=False)


def install_crontab(line: str, name: str) -> None:
    """Replace the user's crontab line tagged ``# name`` with ``line`` (or add it)."""
    if shutil.which("crontab") is None:
        raise InputError("`crontab` is not installed here; install cron, or use --systemd or --kubernetes")
    cur = subprocess.run(["crontab", "-l"], capture_output=True, text=True)
    lines = [l for l in (cur.stdout.splitlines() if cur.returncode == 0 else []) if not l.endswith(f"# {name}")]
    subprocess.run(["crontab", "-"], input="\n".join(lines + [line]) + "\n", text=True, check=True)


def install_systemd(units: dict[str, str], unit_dir: str | Path | None = None, enable: bool = True) -> list[Path]:
    """Write the units to ``unit_dir`` (default ``~/.config/systemd/user``) and enable the timer."""
    d = Path(unit_dir or Path.home() / ".config" / "systemd" / "user")
    d.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in units.items():
        (d / name).write_text(text)
        paths.append(d / name)
    if enable:
        timer = next(n for n in units if n.endswith(".timer"))
        user = ["--user"] if unit_dir is None or str(d).startswith(str(Path.home())) else []
        subprocess.run(["systemctl", *user, "daemon-reload"], check=True)
        subprocess.run(["systemctl", *user, "enable", "--now", timer], check=True)
    return paths


def schedule(s: Schedule, *, systemd: bool = False, kubernetes: bool = False, install: bool = False,
             output: str | None = None) -> str:
    """Render (and with ``install``, install) the schedule; returns what it printed or wrote."""
    if kubernetes:
        text = kubernetes_yaml(s)
        path = Path(output or f"{s.name}.yaml")
        path.write_text(text)
        if install:
            subprocess.run(["kubectl", "apply", "-f", str(path)], check=True)
        return f"wrote {path}; apply it with: kubectl apply -f {path}\n"
    if systemd:
        units = systemd_units(s)
        if install:
            paths = install_systemd(units, output)
            return "installed " + ", ".join(map(str, paths)) + "\n"
        if output:
            paths = install_systemd(units, output, enable=False)
            return "wrote " + ", ".join(map(str, paths)) + "\n"
        return "".join(f"# {n}\n{t}\n" for n, t in units.items())
    line = crontab_line(s)
    if install:
        install_crontab(line, s.name)
        return f"installed in crontab: {line}\n"
    return line + "\n"
