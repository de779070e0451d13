"""Generated schedules: the crontab line parses, systemd units verify, Kubernetes YAML is complete."""

import shutil
import subprocess
from datetime import datetime

import pytest
import yaml
from croniter import croniter

from medialake.errors import ConfigError
from medialake.jobs.cli import main
from medialake.jobs.schedule import Schedule, cron_expr, crontab_line, kubernetes_manifests, on_calendar, systemd_units


def S(every="nightly", **kw):
    return Schedule(every=every, source="/data/media", db="s3://bucket/lake", **kw)


def test_crontab_line_parses_and_runs_the_ingest(capsys):
    assert main(["schedule", "--every", "nightly", "--source", "/data/media", "--db", "/data/lake",
                 "--address", "ray://head:10001"]) == 0
    line = capsys.readouterr().out.strip()
    fields = line.split()
    expr = " ".join(fields[:5])
    assert croniter.is_valid(expr)
    nxt = croniter(expr, datetime(2026, 1, 1, 12, 0)).get_next(datetime)
    assert (nxt.hour, nxt.minute) == (2, 0)
    assert "-m medialake ingest /data/media --db /data/lake --address ray://head:10001" in line
    assert line.endswith("# medialake-ingest")


@pytest.mark.parametrize("every", ["hourly", "weekly", "30 1 * * 1-5", "*/15 * * * *", "0 3 1,15 * *"])
def test_cron_expressions_are_accepted_and_valid(every):
    assert croniter.is_valid(cron_expr(every))
    assert croniter.is_valid(" ".join(crontab_line(S(every)).split()[:5]))


@pytest.mark.parametrize("bad", ["sometimes", "61 * * *", "a b c d e"])
def test_bad_schedule_names_the_fix(bad):
    with pytest.raises(ConfigError, match="5-field cron"):
        cron_expr(bad)


@pytest.mark.parametrize("every,first", [("nightly", "02:00"), ("30 1 * * 1-5", "01:30"), ("*/15 * * * *", "12:15")])
def test_systemd_timer_fires_when_cron_would(every, first):
    cal = on_calendar(cron_expr(every))
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here")
    out = subprocess.run(["systemd-analyze", "calendar", "--base-time=2026-01-01 12:05:00", cal],  # a Thursday
                         capture_output=True, text=True)
    if out.returncode != 0 and "base-time" in out.stderr:
        pytest.skip("this systemd-analyze has no --base-time")
    assert out.returncode == 0, out.stderr
    nxt = croniter(cron_expr(every), datetime(2026, 1, 1, 12, 5)).get_next(datetime)
    assert nxt.strftime("%Y-%m-%d %H:%M") in out.stdout and nxt.strftime("%H:%M") == first


def test_systemd_units_pass_systemd_analyze_verify(tmp_path, capsys):
    assert main(["schedule", "--every", "nightly", "--source", "/data/media", "--db", "/data/lake",
                 "--systemd", "--output", str(tmp_path)]) == 0
    units = {p.name: p.read_text() for p in tmp_path.iterdir()}
    assert set(units) == {"medialake-ingest.service", "medialake-ingest.timer"}
    assert "OnCalendar=*-*-* 02:00:00" in units["medialake-ingest.timer"]
    assert "Type=oneshot" in units["medialake-ingest.service"] and "-m medialake ingest /data/media" in units["medialake-ingest.service"]
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here: units checked by content only")
    out = subprocess.run(["systemd-analyze", "verify", *(str(p) for p in sorted(tmp_path.iterdir()))],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_systemd_verify_catches_a_broken_unit(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here")
    units = systemd_units(S())
    (tmp_path / "x.service").write_text(units["medialake-ingest.service"].replace("ExecStart=", "ExecStart=relative/"))
    out = subprocess.run(["systemd-analyze", "verify", str(tmp_path / "x.service")], capture_output=True, text=True)
    assert out.returncode != 0  # so the passing check above means something


def test_kubernetes_cronjob_launches_a_rayjob(tmp_path, capsys):
    out = tmp_path / "cron.yaml"
    assert main(["schedule", "--every", "nightly", "--source", "s3://b/media", "--db", "s3://b/lake",
                 "--kubernetes", "--output", str(out)]) == 0
    docs = list(yaml.safe_load_all(out.read_text()))
    for d in docs:
        assert d["apiVersion"] and d["kind"] and d["metadata"]["name"]
    kinds = {d["kind"]: d for d in docs}
    assert set(kinds) == {"ServiceAccount", "Role", "RoleBinding", "ConfigMap", "CronJob"}
    cron = kinds["CronJob"]
    assert cron["apiVersion"] == "batch/v1" and croniter.is_valid(cron["spec"]["schedule"])
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["restartPolicy"] in ("Never", "OnFailure")
    assert all(c["name"] and c["image"] for c in pod["containers"])
    assert pod["serviceAccountName"] == kinds["ServiceAccount"]["metadata"]["name"]
    assert pod["volumes"][0]["configMap"]["name"] == kinds["ConfigMap"]["metadata"]["name"]
    rayjob = yaml.safe_load(kinds["ConfigMap"]["data"]["rayjob.yaml"])
    assert rayjob["apiVersion"] == "ray.io/v1" and rayjob["kind"] == "RayJob"
    spec = rayjob["spec"]
    assert spec["entrypoint"] == "python -m medialake ingest s3://b/media --db s3://b/lake --address auto"
    assert spec["shutdownAfterJobFinishes"] is True
    assert spec["rayClusterSpec"]["headGroupSpec"]["template"]["spec"]["containers"][0]["image"]
    groups = {g["groupName"]: g for g in spec["rayClusterSpec"]["workerGroupSpecs"]}
    gpu = groups["gpu-models"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert gpu["nvidia.com/gpu"] == 1 and "cpu-decode" in groups
    role = kinds["Role"]["rules"][0]
    assert role["apiGroups"] == ["ray.io"] and "create" in role["verbs"]
    assert "kubectl apply -f" in capsys.readouterr().out


def test_manifests_are_plain_dicts():
    assert [d["kind"] for d in kubernetes_manifests(S())][-1] == "CronJob"
