import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from medialake.errors import ModelError
from medialake.models import text_onnx
from medialake.models.registry import resolve
from medialake.models.text import TextEmbedStage, TextEncoder

REPO = Path(__file__).resolve().parents[2]


def test_minilm_ranks_paraphrase_above_unrelated():
    enc = TextEncoder.shared()
    q, para, other = enc.encode([
        "The budget meeting starts at nine.",
        "At 9 o'clock we begin reviewing the finances.",
        "A cockatoo is eating seeds on a branch.",
    ])
    assert enc.dim == 384
    assert np.allclose(np.linalg.norm([q, para, other], axis=1), 1.0, atol=1e-4)
    assert q @ para > q @ other + 0.2


def test_embedder_fills_text_and_leaves_null_vectors_for_empty_rows():
    import pyarrow as pa

    batch = pa.table({"transcript": ["hello there", None, "  "], "ocr_text": [None, "STOP", None]})
    out = TextEmbedStage()(batch)
    assert out.column("text").to_pylist() == ["hello there", "STOP", None]
    vec = out.column("text_vector")
    assert vec.type == pa.list_(pa.float32(), 384)
    assert vec.is_null().to_pylist() == [False, False, True]


SENTENCES = [
    "The budget meeting starts at nine.",
    "A cockatoo is eating seeds on a branch.",
    "Bitte schließen Sie die Tür, wenn Sie gehen.",
    "ok",
    "the quarterly report shows revenue grew by twelve percent while costs stayed flat " * 8,  # truncated
]


@pytest.mark.slow
def test_onnx_and_torch_backends_agree_on_minilm():
    onnx = TextEncoder("all-MiniLM-L6-v2", "cpu", backend="onnx")
    torch = TextEncoder("all-MiniLM-L6-v2", "cpu", backend="torch")
    assert (onnx.backend, torch.backend) == ("onnx", "torch")
    a, b = onnx.encode(SENTENCES, batch_size=2), torch.encode(SENTENCES, batch_size=2)
    assert a.shape == b.shape == (len(SENTENCES), 384) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert (a * b).sum(1).min() >= 0.999


def _tiny_bert(dst: Path) -> Path:
    """A randomly initialised 1-layer BERT saved with MiniLM's tokenizer: a user's own model."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=64)).save_pretrained(dst)
    AutoTokenizer.from_pretrained(resolve("all-MiniLM-L6-v2")).save_pretrained(dst)
    return dst


@pytest.mark.slow
def test_a_users_model_is_exported_once_and_the_cached_graph_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDIALAKE_CACHE", str(tmp_path / "cache"))
    model = _tiny_bert(tmp_path / "my-bert")
    target = text_onnx.cached_graph(model)
    assert target.parent.parent == tmp_path / "cache" / "onnx" and not target.exists()
    enc = TextEncoder(str(model), "cpu", backend="onnx")
    assert enc.backend == "onnx" and enc.dim == 32 and target.is_file()
    ref = TextEncoder(str(model), "cpu", backend="torch").encode(SENTENCES[:3])
    assert (enc.encode(SENTENCES[:3]) * ref).sum(1).min() >= 0.999  # max_position_embeddings 64: truncated too
    assert not list(target.parent.glob("*.tmp*"))

    def no_export(*a, **k):
        raise AssertionError("exported again")

    monkeypatch.setattr(text_onnx.subprocess, "run", no_export)
    assert TextEncoder(str(model), "cpu", backend="onnx").encode(["again"]).shape == (1, 32)
    (model / "config.json").touch()  # a changed model gets a graph of its own
    assert text_onnx.cached_graph(model) != target


def test_onnx_backend_errors_name_the_model_and_the_fix(tmp_path):
    with pytest.raises(ModelError, match="not a local directory.*backend: torch"):
        TextEncoder(str(tmp_path / "nope"), "cpu", backend="onnx")
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(ModelError, match="no tokenizer.json.*backend: torch"):
        TextEncoder(str(tmp_path), "cpu", backend="onnx")
    with pytest.raises(ModelError, match="CPU only.*device: cpu"):
        TextEncoder("all-MiniLM-L6-v2", "cuda", backend="onnx")


def test_the_text_role_on_cpu_imports_neither_torch_nor_transformers():
    """The OCR+text actor's models, as the pipeline builds them on CPU, in a fresh process."""
    code = (
        "import sys, pyarrow as pa\n"
        "from medialake.models.stage import StageChain\n"
        "from medialake.models.ocr import OcrStage\n"
        "from medialake.models.text import TextEmbedStage\n"
        "from medialake.models.registry import pick_device\n"
        "chain = StageChain(((OcrStage, {'device': 'cpu'}), (TextEmbedStage, {'device': 'cpu'})))\n"
        "out = chain.stages[1](pa.table({'transcript': ['hello there']}))\n"
        "assert out.column('text_vector').null_count == 0 and chain.stages[1].encoder.backend == 'onnx'\n"
        "heavy = lambda: [m for m in ('torch', 'transformers') if m in sys.modules]\n"
        "before = heavy()\n"
        "print(json.dumps([before, pick_device('auto'), heavy()]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", "import json\n" + code], capture_output=True, text=True,
                          cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    before, device, after = json.loads(proc.stdout.strip().splitlines()[-1])
    assert before == []
    if device == "cpu":  # a CPU-only torch: pick_device told it from torch/version.py, not by importing it
        assert after == []


def test_text_options_are_typed_and_leave_the_config_hash_alone():
    from medialake.pipelines.config import IngestConfig, load_config

    cfg = load_config(overrides={"text": {"options": {"backend": "torch", "threads": 2}}})
    assert cfg.text.options.backend == "torch" and IngestConfig().text.options.backend == "auto"
    assert cfg.config_hash() == IngestConfig().config_hash()  # same vectors, another runtime
    with pytest.raises(Exception, match="backend"):
        load_config(overrides={"text": {"options": {"backend": "tensorrt"}}})
