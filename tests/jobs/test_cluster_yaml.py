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
