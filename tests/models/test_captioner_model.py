import io

import pyarrow as pa
import pytest
import torch
from PIL import Image

from medialake.errors import ModelError
from medialake.models.captioner import AssembledCaptioner, Captioner, HFCaptioner, CaptionStage, _projector_module

PICS = [Image.new("RGB", (64, 48), (200, 30, 30)), Image.new("RGB", (40, 60), (20, 40, 220))]


@pytest.mark.parametrize("kind,klass", [("assembly", AssembledCaptioner), ("llava", HFCaptioner)])
def test_both_captioner_forms_generate_deterministic_non_empty_captions(tiny, kind, klass):
    cap = Captioner.shared(str(tiny[kind]), "cpu", max_new_tokens=6)
    assert isinstance(cap, klass)
    out = cap.caption(PICS)
    assert len(out) == 2 and all(isinstance(c, str) and c for c in out)
    assert cap.caption(PICS) == out


def test_assembly_wires_projected_image_features_before_the_prompt(tiny):
    cap = Captioner.shared(str(tiny["assembly"]), "cpu", max_new_tokens=6)
    tokens = cap._image_tokens(PICS[:1])
    # 32 px picture, 8 px patches: 16 patch tokens (CLS dropped), projected to the LM's width
    assert tokens.shape == (1, 16, cap.lm.get_input_embeddings().weight.shape[1])
    assert tokens.dtype == torch.float32


def test_projector_loads_linear_and_mlp_and_names_missing_keys():
    lin = _projector_module({"linear_1.weight": torch.ones(4, 3), "linear_1.bias": torch.zeros(4)})
    assert lin(torch.ones(1, 3)).tolist() == [[3.0] * 4]
    mlp = _projector_module({"linear_1.weight": torch.ones(5, 3), "linear_2.weight": torch.ones(4, 5)})
    assert len(mlp) == 3 and mlp(torch.ones(2, 3)).shape == (2, 4)
    with pytest.raises(ModelError, match="linear_1.weight"):
        _projector_module({"w": torch.ones(1)})


def test_image_captioner_fills_caption_column(tiny):
    buf = io.BytesIO()
    PICS[0].save(buf, format="JPEG")
    batch = pa.table({"thumbnail": pa.array([buf.getvalue(), None], pa.binary())})
    out = CaptionStage(model=str(tiny["assembly"]), device="cpu", options={"max_new_tokens": 6})(batch)
    caps = out.column("caption").to_pylist()
    assert isinstance(caps[0], str) and caps[0] and caps[1] is None


def _jpeg(img) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=95)
    return buf.getvalue()


def test_grid_tiles_frames_in_reading_order():
    from medialake.models.frames import grid

    colours = [(250, 0, 0), (0, 250, 0), (0, 0, 250), (250, 250, 0)]
    g = grid([Image.new("RGB", (40, 30), c) for c in colours])
    assert g.size == (80, 60)
    corners = [g.getpixel((20, 15)), g.getpixel((60, 15)), g.getpixel((20, 45)), g.getpixel((60, 45))]
    assert corners == colours
    assert grid([Image.new("RGB", (40, 30))] * 5).size == (120, 60)  # 3x2
    one = Image.new("RGB", (40, 30))
    assert grid([one]) is one


class _Recorder:
    def __init__(self):
        self.calls = []

    def caption(self, images, prompt=None):
        self.calls.append(([im.size for im in images], prompt))
        return [f"c{len(self.calls)}-{i}" for i in range(len(images))]


def test_the_captioner_sees_a_grid_of_the_segments_frames(tiny):
    frames = [_jpeg(Image.new("RGB", (48, 32), c)) for c in [(250, 0, 0), (0, 250, 0), (0, 0, 250), (250, 250, 0)]]
    batch = pa.table({"frames": pa.array([frames, frames[:2], None, None], pa.list_(pa.binary())),
                      "thumbnail": pa.array([None, None, _jpeg(PICS[0]), None], pa.binary())})
    stage = CaptionStage(model=str(tiny["assembly"]), device="cpu", options={"max_new_tokens": 4})
    real = stage(batch).column("caption").to_pylist()
    assert all(isinstance(c, str) and c for c in real[:3]) and real[3] is None
    stage.captioner = rec = _Recorder()
    caps = stage(batch).column("caption").to_pylist()
    single, tiled = rec.calls  # one call per prompt: the thumbnail alone, then the grids
    assert single == ([(64, 48)], None)  # the row without frames: its thumbnail, the model's own prompt
    assert tiled == ([(96, 64), (96, 32)], stage.options.grid_prompt)  # 4 frames in 2x2, 2 side by side
    assert caps == ["c2-0", "c2-1", "c1-0", None]
    stage.captioner = rec = _Recorder()
    stage.options = stage.typed_options({"frames": 1})
    stage(batch)
    assert rec.calls == [([(48, 32), (48, 32), (64, 48)], None)]  # one frame each: no grid
