"""An image query returns the same image first: a tiny random CLIP built in the test,
saved to a directory and loaded back through AutoModel/AutoProcessor (no hub access)."""

import json

import numpy as np
import pytest
from PIL import Image

import medialake
from search_lakes import asset, seg, write_lake, UTC  # noqa: F401

from datetime import datetime


def tiny_clip(path):
    from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel, CLIPProcessor, CLIPTokenizer

    chars = "abcdefghijklmnopqrstuvwxyz"
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1, "<unk>": 2}
    for c in chars:
        vocab[c] = len(vocab)
        vocab[c + "</w>"] = len(vocab)
    (path / "vocab.json").write_text(json.dumps(vocab))
    (path / "merges.txt").write_text("#version: 0.2\n")
    tok = CLIPTokenizer(str(path / "vocab.json"), str(path / "merges.txt"))
    cfg = CLIPConfig(
        text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, max_position_embeddings=32, bos_token_id=0, eos_token_id=1, pad_token_id=1),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
                           image_size=32, patch_size=8),
        projection_dim=24,
    )
    import torch

    torch.manual_seed(0)
    CLIPModel(cfg).save_pretrained(path)
    proc = CLIPProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}),
                         tokenizer=tok)
    proc.save_pretrained(path)
    return str(path)


def images(folder, n=6):
    """Distinct small pictures: stripes and blocks of different colours."""
    rng = np.random.default_rng(3)
    out = []
    for i in range(n):
        a = np.zeros((48, 64, 3), np.uint8)
        a[:, :] = rng.integers(0, 256, 3)
        a[i * 6 : i * 6 + 12, :, :] = rng.integers(0, 256, 3)
        a[:, (i * 9) % 50 : (i * 9) % 50 + 10, :] = rng.integers(0, 256, 3)
        p = folder / f"img{i}.png"
        Image.fromarray(a).save(p)
        out.append(p)
    return out


@pytest.fixture(scope="module")
def clip_lake(tmp_path_factory):
    from medialake.search.encoders import ClipSpace

    root = tmp_path_factory.mktemp("clip")
    (root / "model").mkdir()
    model = tiny_clip(root / "model")
    files = images(root)
    enc = ClipSpace(model, device="cpu")
    vecs = enc.embed_images([Image.open(p) for p in files])
    when = datetime(2024, 1, 1, tzinfo=UTC)
    assets = [asset(f"i{k}", str(p), "image", 0.0, when) for k, p in enumerate(files)]
    segs = [seg(f"i{k}", 0, 0, 0, None, media_type="image", language=None, thumbnail=f"t{k}".encode())
            for k in range(len(files))]
    db = str(root / "lake.lance")
    write_lake(db, assets, segs, extra_vectors={"image_vector": vecs})
    return db, model, files


def test_image_query_returns_the_same_image_first(clip_lake):
    db, model, files = clip_lake
    for k in (0, 3, 5):
        hits = medialake.search(None, db=db, image=files[k], explain=True, config=_cfg(model))
        assert hits[0]["asset_uri"] == str(files[k]), [h["asset_uri"] for h in hits]
        assert hits[0]["thumbnail"] == f"t{k}".encode()
        assert hits[0]["explain"]["lists"] == {"image_text<-image": 1}


def test_text_query_also_searches_the_image_text_space(clip_lake):
    db, model, _ = clip_lake
    hits = medialake.search("a red stripe", db=db, explain=True, config=_cfg(model), limit=3)
    assert hits and all("image_text<-text" in h["explain"]["lists"] for h in hits)


def test_image_and_text_together_fuse_both(clip_lake):
    db, model, files = clip_lake
    hits = medialake.search("stripes", db=db, image=files[2], explain=True, config=_cfg(model))
    assert hits[0]["asset_uri"] == str(files[2])
    assert {"image_text<-image", "image_text<-text"} <= set(hits[0]["explain"]["lists"])


def _cfg(model):
    from medialake.search.config import SearchConfig

    return SearchConfig(models={"image_text": model})
