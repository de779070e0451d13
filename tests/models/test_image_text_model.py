import io

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from medialake.errors import ModelError
from medialake.models.image_text import ImageEmbedStage, ImageTextEncoder
from medialake.models.registry import embedding_dim


def jpeg(color, size=(48, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="JPEG")
    return buf.getvalue()


def test_tiny_clip_encodes_images_and_texts_into_one_normalised_space(tiny):
    enc = ImageTextEncoder.shared(str(tiny["clip"]))
    imgs = enc.encode_images([Image.new("RGB", (64, 48), (200, 30, 30)), Image.new("RGB", (30, 50), (0, 0, 255))])
    txt = enc.encode_texts(["a red square", "blue"])
    assert imgs.shape == (2, 16) and txt.shape == (2, 16) and enc.dim == 16 == embedding_dim(str(tiny["clip"]))
    assert imgs.dtype == np.float32 and txt.dtype == np.float32
    assert np.allclose(np.linalg.norm(imgs, axis=1), 1, atol=1e-5)
    assert not np.allclose(imgs[0], imgs[1])  # different pictures, different vectors
    again = enc.encode_images([Image.new("RGB", (64, 48), (200, 30, 30))])
    assert np.allclose(again[0], imgs[0], atol=1e-5)  # deterministic


def test_image_embedder_fills_image_vector_only_where_there_is_a_picture(tiny):
    batch = pa.table({"thumbnail": pa.array([jpeg((255, 0, 0)), None, b"not a jpeg", jpeg((0, 255, 0))], pa.binary()),
                      "segment_id": ["a", "b", "c", "d"]})
    out = ImageEmbedStage(model=str(tiny["clip"]), device="cpu", batch_size=1)(batch)
    col = out.column("image_vector")
    assert col.type == pa.list_(pa.float32(), 16)
    assert col.is_null().to_pylist() == [False, True, True, False]
    assert out.column("segment_id").to_pylist() == ["a", "b", "c", "d"]
    direct = ImageTextEncoder.shared(str(tiny["clip"]), "cpu").encode_images([Image.open(io.BytesIO(jpeg((255, 0, 0))))])
    assert np.allclose(np.asarray(col[0].as_py(), np.float32), direct[0], atol=1e-6)


def test_a_text_model_in_the_image_text_role_is_a_clear_error():
    with pytest.raises(ModelError, match="CLIP"):
        ImageTextEncoder("all-MiniLM-L6-v2", device="cpu")


def test_every_frame_is_embedded_and_pooled_and_video_frames_become_frame_rows(tiny):
    colours = [(250, 0, 0), (0, 250, 0), (0, 0, 250)]
    frames = [jpeg(c) for c in colours]
    batch = pa.table({"frames": pa.array([frames, frames[:1], None], pa.list_(pa.binary())),
                      "frame_times": pa.array([[1.0, 2.0, 3.0], [0.0], None], pa.list_(pa.float64())),
                      "thumbnail": pa.array([None, None, jpeg((9, 9, 9))], pa.binary()),
                      "modality": ["video", "image", "video"]})
    out = ImageEmbedStage(model=str(tiny["clip"]), device="cpu", batch_size=2)(batch)  # batches cross rows
    enc = ImageTextEncoder.shared(str(tiny["clip"]), "cpu")
    each = enc.encode_images([Image.open(io.BytesIO(f)) for f in frames])
    pooled = each.mean(axis=0) / np.linalg.norm(each.mean(axis=0))
    vecs = out.column("image_vector").to_pylist()
    assert np.allclose(vecs[0], pooled, atol=1e-5) and not np.allclose(vecs[0], each[0], atol=1e-3)
    assert np.allclose(vecs[1], each[0], atol=1e-5)  # a still: its one frame
    assert vecs[2] is not None  # no frames: the thumbnail
    rows = out.column("frame_rows").to_pylist()
    assert [r["t_s"] for r in rows[0]] == [1.0, 2.0, 3.0]
    assert np.allclose([r["vector"] for r in rows[0]], each, atol=1e-5)
    assert all(r["thumbnail"] for r in rows[0])
    assert rows[1] is None and rows[2] is None  # frames rows are for video frames only
