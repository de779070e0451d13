import numpy as np

from medialake.models.text import TextEmbedStage, TextEncoder


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
