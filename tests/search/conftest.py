"""Fixtures for search tests; the database builders live in ``search_lakes``."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from search_lakes import ASSETS, SEGMENTS, write_lake  # noqa: E402


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> str:
    from medialake.store import maintain

    db = str(tmp_path_factory.mktemp("lake") / "lake.lance")
    maintain(write_lake(db, ASSETS, SEGMENTS))
    return db
