"""The ``text`` role's encoder on onnxruntime: no torch or transformers in the process.

:class:`OnnxTextModel` runs a BERT-like encoder's ONNX graph on onnxruntime and tokenizes
with the ``tokenizers`` library straight from the model directory's ``tokenizer.json``;
mean pooling and L2 normalisation are the torch path's (:mod:`medialake.models.text`).

The graph comes from the model directory when it ships one (``model.onnx`` or
``onnx/model.onnx``); otherwise it is exported once from the directory's transformers
weights by ``torch.onnx`` in a child process (torch and transformers stay out of the caller)
into the medialake cache, ``<cache>/onnx/<name>-<key>/model.onnx``, where ``key`` hashes
the directory's absolute path and the size and mtime of its files: an edited or replaced
model gets a new graph, and every later process (each Ray worker) loads the cached one.
The file is written to a temporary name and renamed, so concurrent workers never read half
a graph. ``python -m medialake.models.text_onnx DIR`` does the export ahead of time.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np

from medialake.errors import ModelError
from medialake.models.registry import cache_dir

#: the encoder inputs the export declares, in this order (token_type_ids only if the model takes them)
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OPSET = 17


def shipped_graph(model_dir: Path) -> Path | None:
    """The ONNX graph a model directory ships itself, if any."""
    for rel in ("model.onnx", "onnx/model.onnx"):
        if (model_dir / rel).is_file():
            return model_dir / rel
    return None


def cache_key(model_dir: Path) -> str:
    """A hash of the directory's absolute path and each file's name, size and mtime."""
    h = hashlib.sha256(str(model_dir.resolve()).encode())
    for f in sorted(p for p in model_dir.rglob("*") if p.is_file() and p.suffix != ".onnx"):
        st = f.stat()
        h.update(f"{f.relative_to(model_dir)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def cached_graph(model_dir: Path) -> Path:
    """Where the exported graph of ``model_dir`` lives in the cache (it may not exist yet)."""
    d = model_dir.resolve()
    return cache_dir() / "onnx" / f"{d.parent.name}-{d.name}-{cache_key(model_dir)}" / "model.onnx"


def local_dir(model_dir: str | Path) -> Path:
    """``model_dir`` as a Path, or a :class:`ModelError` when it is no local directory (a hub id)."""
    d = Path(model_dir)
    if not d.is_dir():
        raise ModelError(f"text model {str(model_dir)!r} is not a local directory; the onnx backend needs one "
                         "(a registry name or a directory), or set text.options.backend: torch")
    return d


def graph_for(model_dir: str | Path, export: bool = True) -> Path:
    """The ONNX graph of ``model_dir``: shipped, cached, or (``export``) exported now in a
    child process. Raises :class:`ModelError` naming the directory and the fix."""
    d = local_dir(model_dir)
    if (g := shipped_graph(d)) is not None:
        return g
    target = cached_graph(d)
    if target.is_file() or not export:
        return target
    pkg_root = str(Path(__file__).resolve().parents[2])  # the child imports this medialake, wherever it lives
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "",
           "PYTHONPATH": os.pathsep.join(p for p in (pkg_root, os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.run([sys.executable, "-m", "medialake.models.text_onnx", str(d)],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0 or not target.is_file():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise ModelError(f"exporting text model {str(d)!r} to ONNX failed ({' / '.join(tail)}); "
                         "set text.options.backend: torch, or put a model.onnx in the directory")
    return target


def _without_onnx_package() -> None:
    """torch's TorchScript exporter reads its own output back through the ``onnx`` package
    only to add custom onnxscript functions, which a transformers encoder has none of;
    where that package is not installed, skip that step instead of failing."""
    try:
        import onnx  # noqa: F401
        return
    except ImportError:
        pass
    from torch.onnx._internal.torchscript_exporter import onnx_proto_utils

    onnx_proto_utils._add_onnxscript_fn = lambda model_bytes, custom_opsets: model_bytes


def export(model_dir: str | Path, target: Path | None = None) -> Path:
    """Export ``model_dir``'s transformers encoder to ONNX at ``target`` (default: the cache
    path), atomically. Imports torch and transformers: run it in a child process."""
    import torch
    from transformers import AutoModel

    d = Path(model_dir)
    target = target or cached_graph(d)
    model = AutoModel.from_pretrained(str(d), dtype=torch.float32).eval()
    takes_types = "token_type_ids" in model.forward.__code__.co_varnames
    names = [n for n in INPUTS if n != "token_type_ids" or takes_types]
    example = tuple(torch.ones(2, 8, dtype=torch.long) for _ in names)

    class Hidden(torch.nn.Module):  # positional inputs -> last_hidden_state only
        def __init__(self):
            super().__init__()
            self.inner = model

        def forward(self, *args):
            return self.inner(**dict(zip(names, args))).last_hidden_state

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"model.onnx.tmp{os.getpid()}")
    axes = {n: {0: "batch", 1: "sequence"} for n in names}
    _without_onnx_package()
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(Hidden(), example, str(tmp), input_names=names, output_names=["last_hidden_state"],
                          dynamic_axes={**axes, "last_hidden_state": {0: "batch", 1: "sequence"}},
                          opset_version=OPSET, dynamo=False)
    os.replace(tmp, target)  # atomic: a concurrent worker sees no graph or the whole graph
    return target


def _pad_token(model_dir: Path, tok) -> tuple[int, str]:
    """The padding token of the tokenizer (from tokenizer_config.json or special_tokens_map.json)."""
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        f = model_dir / name
        if f.is_file():
            pad = json.loads(f.read_text()).get("pad_token")
            pad = pad.get("content") if isinstance(pad, dict) else pad
            if pad and tok.token_to_id(pad) is not None:
                return tok.token_to_id(pad), pad
    for pad in ("[PAD]", "<pad>"):
        if tok.token_to_id(pad) is not None:
            return tok.token_to_id(pad), pad
    return 0, tok.id_to_token(0) or ""


def load_tokenizer(model_dir: Path, max_length: int):
    """The ``tokenizers`` tokenizer of ``model_dir`` with truncation and batch padding on."""
    from tokenizers import Tokenizer

    path = model_dir / "tokenizer.json"
    if not path.is_file():
        raise ModelError(f"text model {str(model_dir)!r} has no tokenizer.json, which the onnx backend reads; "
                         "save one with the model's fast tokenizer, or set text.options.backend: torch")
    tok = Tokenizer.from_file(str(path))
    limit = max_length
    cfg = model_dir / "tokenizer_config.json"
    if cfg.is_file():  # transformers also caps at the model's maximum
        limit = min(limit, int(json.loads(cfg.read_text()).get("model_max_length", limit) or limit))
    tok.enable_truncation(max_length=limit)
    pad_id, pad = _pad_token(model_dir, tok)
    tok.enable_padding(pad_id=pad_id, pad_token=pad)
    return tok


def default_threads() -> int:
    """onnxruntime's intra-op threads: ``OMP_NUM_THREADS`` where set (Ray sets it for an
    actor from its ``num_cpus``, at least 1), else every core."""
    try:
        return max(1, int(os.environ.get("OMP_NUM_THREADS", "")))
    except ValueError:
        return os.cpu_count() or 1


class OnnxTextModel:
    """A sentence encoder on onnxruntime: ``encode(texts)`` -> (n, dim) float32, L2-normalised."""

    def __init__(self, model_dir: str | Path, max_length: int = 256, threads: int = 0):
        import onnxruntime as ort

        d = local_dir(model_dir)
        self.tokenizer = load_tokenizer(d, max_length)
        self.graph = graph_for(d)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or default_threads()
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # no busy-waiting on shared cores
        self.session = ort.InferenceSession(str(self.graph), opts, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        unknown = set(self.inputs) - set(INPUTS)
        if unknown:
            raise ModelError(f"ONNX graph {str(self.graph)!r} takes inputs {sorted(unknown)} besides "
                             f"{list(INPUTS)}; export it with those inputs or set text.options.backend: torch")
        dim = self.session.get_outputs()[0].shape[-1]
        self.dim = int(dim) if isinstance(dim, int) else int(self.encode_batch(["a"]).shape[1])

    def encode_batch(self, texts: list[str]) -> np.ndarray:
        encs = self.tokenizer.encode_batch(texts)
        feeds = {"input_ids": [e.ids for e in encs], "attention_mask": [e.attention_mask for e in encs],
                 "token_type_ids": [e.type_ids for e in encs]}
        feed = {name: np.asarray(feeds[name], dtype=np.int64) for name in self.inputs}
        hidden = self.session.run(None, feed)[0].astype(np.float32, copy=False)
        mask = np.asarray(feeds["attention_mask"], dtype=np.float32)[..., None]
        pooled = (hidden * mask).sum(1) / np.clip(mask.sum(1), 1e-9, None)
        norm = np.clip(np.linalg.norm(pooled, axis=-1, keepdims=True), 1e-12, None)  # as torch's normalize
        return (pooled / norm).astype(np.float32, copy=False)


if __name__ == "__main__":  # python -m medialake.models.text_onnx MODEL [TARGET]
    from medialake.models.registry import resolve

    if len(sys.argv) not in (2, 3):
        raise SystemExit("usage: python -m medialake.models.text_onnx MODEL_NAME_OR_DIR [TARGET.onnx]")
    print(export(resolve(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) == 3 else None))
