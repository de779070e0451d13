"""Shared fixtures: one local Ray per test session, sample paths, a hand-made database."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("MEDIALAKE_PROGRESS", "0")

REPO = Path(__file__).resolve().parent.parent
SAMPLES = REPO / "samples"


@pytest.fixture(scope="session")
def samples() -> Path:
    return SAMPLES


@pytest.fixture(scope="session")
def ray_local():
    """A local Ray started once for the whole session (no dashboard, 2 CPUs)."""
    from medialake.pipelines.runtime import ensure_ray

    ray = ensure_ray(num_cpus=2)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> str:
    """A hand-made, indexed database (``search_lakes``) for search, store and report tests."""
    from search_lakes import ASSETS, SEGMENTS, write_lake

    from medialake.store import maintain

    db = str(tmp_path_factory.mktemp("lake") / "lake.lance")
    maintain(write_lake(db, ASSETS, SEGMENTS))
    return db


@pytest.fixture(scope="module")
def s3_url():
    """A local S3 server (moto) with the bucket ``lakes``; its URL (tests/s3server.py)."""
    from s3server import moto_s3

    with moto_s3("lakes") as url:
        yield url
