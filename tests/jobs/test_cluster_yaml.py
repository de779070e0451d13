"""ray_cluster.yaml validates against the cluster-launcher schema that ships inside Ray."""

import json
import os
from pathlib import Path

import jsonschema
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def ray_schema():
    import ray

    return json.loads((Path(os.path.dirname(ray.__file__)) / "autoscaler" / "ray-schema.json").read_text())


@pytest.fixture(scope="module")
def cluster():
    return yaml.safe_load((REPO / "ray_cluster.yaml").read_text())


def test_cluster_yaml_is_valid_for_ray(cluster, ray_schema):
    jsonschema.validate(cluster, ray_schema)


def test_schema_check_is_not_vacuous(cluster, ray_schema):
    broken = {**cluster, "available_node_types": {**cluster["available_node_types"], "bad": {"resources": {"CPU": 1}}}}
    with pytest.raises(jsonschema.ValidationError, match="node_config"):
        jsonschema.validate(broken, ray_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**cluster, "max_workerz": 3}, ray_schema)


def test_node_groups_and_setup(cluster):
    types = cluster["available_node_types"]
    head = types[cluster["head_node_type"]]
    assert head["resources"].get("GPU", 0) == 0
    gpu = [t for n, t in types.items() if t["resources"].get("GPU", 0) >= 1]
    cpu = [t for n, t in types.items() if n != cluster["head_node_type"] and not t["resources"].get("GPU")]
    assert gpu and cpu and all(t["max_workers"] >= 1 for t in gpu + cpu)
    setup = " ".join(cluster["setup_commands"])
    mounted = list(cluster["file_mounts"])[0]
    assert f"pip install -q {mounted}" in setup and "torch==2.13.0" in setup


def _offered(node_types: dict) -> dict[str, dict[str, float]]:
    return {n: {k: float(v) for k, v in t["resources"].items()} for n, t in node_types.items()}


def _asked(cfg) -> dict[str, dict[str, float]]:
    from medialake.pipelines.config import ROLES

    out = {"decode": dict(cfg.decode.resources)}
    out.update({r: dict(getattr(cfg, r).resources) for r in ROLES if r != "summarizer"})
    return out


def test_cluster_config_asks_for_what_the_cluster_yaml_offers(cluster):
    """cluster_config.yaml and ray_cluster.yaml speak of the same resources: decode lands on
    the CPU decode nodes only, every model pool on the GPU nodes only, and each pool's
    size (concurrency: auto) comes from those nodes."""
    from medialake.pipelines.adapter import DECODE_RESOURCE, MODELS_RESOURCE, pool_size
    from medialake.pipelines.config import load_config

    cfg = load_config(REPO / "cluster_config.yaml", profile="gpu")
    asked = _asked(cfg)
    assert set(asked["decode"]) == {DECODE_RESOURCE}
    assert all(set(v) == {MODELS_RESOURCE} for k, v in asked.items() if k != "decode")
    offered = _offered(cluster["available_node_types"])
    has = {res: [n for n, r in offered.items() if r.get(res, 0) > 0] for res in (DECODE_RESOURCE, MODELS_RESOURCE)}
    assert has[DECODE_RESOURCE] == ["cpu_decode"] and has[MODELS_RESOURCE] == ["gpu_models"]
    assert offered["gpu_models"]["GPU"] >= 1
    # the whole cluster at its largest: one node dict per node
    types = cluster["available_node_types"]
    nodes = [offered[n] for n, t in types.items() for _ in range(t.get("max_workers", 1) if n != cluster["head_node_type"] else 1)]
    for role in ("asr", "text", "image_text", "audio", "captioner"):
        rc = getattr(cfg, role)
        lo, hi = pool_size(rc, rc.num_gpus, nodes)
        per_node = min(offered["gpu_models"][k] / v for k, v in
                       {"CPU": rc.num_cpus, "GPU": rc.num_gpus, MODELS_RESOURCE: 0.01}.items() if v > 0)
        assert (lo, hi) == (1, int(per_node + 1e-9) * types["gpu_models"]["max_workers"]), role


def test_kuberay_rayjob_offers_the_same_resources():
    from medialake.jobs.schedule import Schedule, kubernetes_manifests
    from medialake.pipelines.adapter import DECODE_RESOURCE, MODELS_RESOURCE

    cm = [d for d in kubernetes_manifests(Schedule("nightly", "s3://b/m", "s3://b/l", None, None, "ml"))
          if d["kind"] == "ConfigMap"][0]
    rayjob = yaml.safe_load(cm["data"]["rayjob.yaml"])
    groups = {g["groupName"]: g for g in rayjob["spec"]["rayClusterSpec"]["workerGroupSpecs"]}
    for name, res in (("gpu-models", MODELS_RESOURCE), ("cpu-decode", DECODE_RESOURCE)):
        raw = groups[name]["rayStartParams"]["resources"]
        # KubeRay puts the value after `ray start --resources=`: the shell must see one JSON word
        import shlex

        assert json.loads(shlex.split(raw)[0]) == {res: 1}, raw
    assert "resources" not in rayjob["spec"]["rayClusterSpec"]["headGroupSpec"]["rayStartParams"]
