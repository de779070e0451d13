"""Captions for pictures (``captioner`` role): a projected vision-language backbone.

Two ways to name a model:

1. Any transformers image-text-to-text directory or hub id (LLaVA, SmolVLM, Qwen2-VL, ...),
   loaded with ``AutoModelForImageTextToText`` and ``AutoProcessor``.
2. An *assembly* of separately saved parts: a directory holding ``medialake_captioner.json``::

       {"vision_encoder": "vision",            # CLIP/SigLIP vision tower (or full CLIP) directory
        "projector": "projector.safetensors",  # linear_1.* [, linear_2.*]: linear or 2-layer GELU MLP
        "language_model": "lm",                # causal LM directory (with its tokenizer)
        "feature_layer": -2, "drop_cls": true}

   wired LLaVA-style: the picture's patch features from ``feature_layer`` are projected
   into the LM's embedding space and put before the prompt (after the BOS token); the LM
   then generates the caption. Paths are relative to the JSON file.

``Captioner.shared(model)`` picks the form; ``caption(images)`` returns one string per
picture, greedy and deterministic. :class:`CaptionStage` is the ``captioner`` role's model
stage (an actor pool in the pipeline): it fills ``caption`` for rows with a picture.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
from PIL import Image
from pydantic import Field

from medialake import arrow
from medialake.errors import ModelError
from medialake.models.frames import grid, segment_frames
from medialake.models.registry import cached, check_device, resolve, torch_dtype
from medialake.models.stage import ModelStage
from medialake.settings import Frozen

MANIFEST = "medialake_captioner.json"
DEFAULT_PROMPT = "Describe this picture in one sentence."
#: The prompt that goes with several frames of a segment tiled into one picture.
GRID_PROMPT = ("The picture shows frames of one video clip, left to right and top to bottom. "
               "Describe what happens in one sentence.")


def _projector_module(state: dict):
    """Build the linear / 2-layer GELU MLP projector that ``state`` (safetensors) describes."""
    import torch

    if "linear_1.weight" not in state:
        raise ModelError(f"projector weights need linear_1.weight (and optionally linear_2.*), found {sorted(state)}")
    w1 = state["linear_1.weight"]
    layers: list = [torch.nn.Linear(w1.shape[1], w1.shape[0], bias="linear_1.bias" in state)]
    if "linear_2.weight" in state:
        w2 = state["linear_2.weight"]
        layers += [torch.nn.GELU(), torch.nn.Linear(w2.shape[1], w2.shape[0], bias="linear_2.bias" in state)]
    mod = torch.nn.Sequential(*layers)
    names = {"0": "linear_1", "2": "linear_2"}
    mod.load_state_dict({k: state[f"{names[k.split('.')[0]]}.{k.split('.')[1]}"] for k in mod.state_dict()})
    return mod


def save_projector(path: str | Path, module) -> None:
    """Save a ``torch.nn.Linear`` or ``Sequential(Linear, GELU, Linear)`` as projector safetensors."""
    from safetensors.torch import save_file

    import torch

    linears = [m for m in (module if isinstance(module, torch.nn.Sequential) else [module]) if isinstance(m, torch.nn.Linear)]
    state = {}
    for i, lin in enumerate(linears, 1):
        state[f"linear_{i}.weight"] = lin.weight.detach().contiguous()
        if lin.bias is not None:
            state[f"linear_{i}.bias"] = lin.bias.detach().contiguous()
    save_file(state, str(path))


class AssembledCaptioner:
    """Vision encoder -> projector -> causal LM, wired LLaVA-style (see the module doc)."""

    def __init__(self, directory: str | Path, device: str = "auto", dtype: str = "auto",
                 prompt: str = DEFAULT_PROMPT, max_new_tokens: int = 32, min_new_tokens: int = 1):
        import torch
        from safetensors.torch import load_file
        from transformers import AutoImageProcessor, AutoModel, AutoModelForCausalLM, AutoTokenizer

        root = Path(directory)
        spec = json.loads((root / MANIFEST).read_text())
        part = lambda key: str(root / spec[key]) if (root / spec[key]).exists() else resolve(spec[key])  # noqa: E731
        self.device = check_device(device)
        dt = torch_dtype(self.device, dtype)
        try:
            vision = AutoModel.from_pretrained(part("vision_encoder"), dtype=dt)
            self.vision = getattr(vision, "vision_model", vision).to(self.device).eval()
            self.image_processor = AutoImageProcessor.from_pretrained(part("vision_encoder"))
            self.lm = AutoModelForCausalLM.from_pretrained(part("language_model"), dtype=dt).to(self.device).eval()
            self.tokenizer = AutoTokenizer.from_pretrained(part("language_model"))
        except (OSError, ValueError, KeyError) as e:
            raise ModelError(f"cannot load captioner assembly {root}: {e}; check the paths in {MANIFEST}") from e
        self.projector = _projector_module(load_file(str(root / spec["projector"]))).to(self.device, dt).eval()
        lm_width = self.lm.get_input_embeddings().weight.shape[1]
        out_width = [m for m in self.projector if isinstance(m, torch.nn.Linear)][-1].out_features
        if out_width != lm_width:
            raise ModelError(f"captioner projector outputs {out_width} features but the language model's "
                             f"embeddings are {lm_width} wide; retrain or re-export the projector")
        self.feature_layer = int(spec.get("feature_layer", -2))
        self.drop_cls = bool(spec.get("drop_cls", True))
        self.prompt = spec.get("prompt", prompt) if prompt == DEFAULT_PROMPT else prompt
        self.max_new_tokens, self.min_new_tokens = max_new_tokens, min_new_tokens
        self._torch = torch

    def _image_tokens(self, images: list[Image.Image]):
        px = self.image_processor(images=images, return_tensors="pt")["pixel_values"].to(self.device, self.lm.dtype)
        hidden = self.vision(pixel_values=px, output_hidden_states=True).hidden_states[self.feature_layer]
        if self.drop_cls and hidden.shape[1] > 1 and hasattr(self.vision, "embeddings") and \
                getattr(self.vision.embeddings, "class_embedding", None) is not None:
            hidden = hidden[:, 1:]
        return self.projector(hidden)

    def caption(self, images: list[Image.Image], prompt: str | None = None) -> list[str]:
        if not images:
            return []
        torch = self._torch
        with torch.inference_mode():
            img = self._image_tokens(images)
            ids = self.tokenizer(prompt or self.prompt, return_tensors="pt")["input_ids"].to(self.device)
            emb = self.lm.get_input_embeddings()(ids).expand(len(images), -1, -1)
            bos = self.tokenizer.bos_token_id if self.tokenizer.bos_token_id is not None else self.tokenizer.cls_token_id
            if bos is not None and int(ids[0, 0]) == bos:  # [BOS] image prompt, as LLaVA does
                embeds = torch.cat([emb[:, :1], img.to(emb.dtype), emb[:, 1:]], dim=1)
            else:
                embeds = torch.cat([img.to(emb.dtype), emb], dim=1)
            mask = torch.ones(embeds.shape[:2], dtype=torch.long, device=self.device)
            pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
            out = self.lm.generate(inputs_embeds=embeds, attention_mask=mask, max_new_tokens=self.max_new_tokens,
                                   min_new_tokens=self.min_new_tokens, do_sample=False, pad_token_id=pad)
        return [t.strip() for t in self.tokenizer.batch_decode(out, skip_special_tokens=True)]


class HFCaptioner:
    """Any ``AutoModelForImageTextToText`` model with its ``AutoProcessor``."""

    def __init__(self, model: str, device: str = "auto", dtype: str = "auto", prompt: str = DEFAULT_PROMPT,
                 max_new_tokens: int = 32, min_new_tokens: int = 1):
        import torch
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self.device = check_device(device)
        path = resolve(model)
        try:
            self.processor = AutoProcessor.from_pretrained(path)
            self.model = AutoModelForImageTextToText.from_pretrained(
                path, dtype=torch_dtype(self.device, dtype)).to(self.device).eval()
        except (OSError, ValueError, KeyError) as e:
            raise ModelError(f"cannot load captioner {model!r} ({path}): {e}; name an image-text-to-text model "
                             f"directory or an assembly directory with {MANIFEST}") from e
        self.prompt = prompt
        self.max_new_tokens, self.min_new_tokens = max_new_tokens, min_new_tokens
        self._torch = torch

    def _text(self, prompt: str | None = None) -> str:
        prompt = prompt or self.prompt
        if getattr(self.processor, "chat_template", None):
            msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": prompt}]}]
            return self.processor.apply_chat_template(msgs, add_generation_prompt=True)
        token = getattr(self.processor, "image_token", "<image>")
        return f"USER: {token}\n{prompt} ASSISTANT:"

    def caption(self, images: list[Image.Image], prompt: str | None = None) -> list[str]:
        if not images:
            return []
        text = self._text(prompt)
        inputs = self.processor(images=images, text=[text] * len(images), return_tensors="pt", padding=True)
        inputs = {k: (v.to(self.device, self.model.dtype) if v.is_floating_point() else v.to(self.device))
                  for k, v in inputs.items()}
        tok = getattr(self.processor, "tokenizer", self.processor)
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        with self._torch.inference_mode():
            out = self.model.generate(**inputs, max_new_tokens=self.max_new_tokens, min_new_tokens=self.min_new_tokens,
                                      do_sample=False, pad_token_id=pad)
        new = out[:, inputs["input_ids"].shape[1]:]
        return [t.strip() for t in tok.batch_decode(new, skip_special_tokens=True)]


class Captioner:
    """Entry point: ``Captioner.shared(model, ...)`` returns the assembled or transformers form."""

    @staticmethod
    def shared(model: str, device: str = "auto", dtype: str = "auto", **kw):
        path = Path(resolve(model))
        klass = AssembledCaptioner if (path / MANIFEST).is_file() else HFCaptioner
        key = ("captioner", model, check_device(device), dtype, tuple(sorted(kw.items())))
        return cached(key, lambda: klass(str(path) if klass is AssembledCaptioner else model, device, dtype, **kw))


class CaptionOptions(Frozen):
    """``captioner.options``: how captions are generated."""

    prompt: str = Field(DEFAULT_PROMPT, min_length=1)
    grid_prompt: str = Field(GRID_PROMPT, min_length=1, description="the prompt for several frames in one grid")
    frames: int = Field(4, ge=1, le=16, description="frames of a segment the captioner sees, tiled into one grid "
                        "picture in time order (1: the middle frame alone)")
    max_new_tokens: int = Field(32, ge=1)
    dtype: str = Field("auto", description="float32, bfloat16 or float16; auto: fp32 on CPU, bf16/fp16 on GPU")


class CaptionStage(ModelStage):
    """The segment's frames (up to ``options.frames``, tiled in time order into one grid
    picture; rows without frames: the ``thumbnail``) -> ``caption`` (null where there is
    no picture). A grid goes with ``options.grid_prompt``, a single picture with ``prompt``.
    A grid is one picture, so every vision-language family (and the assembly) takes it the
    same way."""

    role = "captioner"
    reads = ("frames", "thumbnail")
    writes = ("caption",)
    Options = CaptionOptions
    gpu_share = 0.25
    default_batch_size = 4

    def __init__(self, model: str, **kw):
        super().__init__(model, **kw)
        o = self.options
        self.captioner = Captioner.shared(model, self.device, o.dtype, prompt=o.prompt, max_new_tokens=o.max_new_tokens)

    def __call__(self, batch: pa.Table) -> pa.Table:
        o = self.options
        pictures = segment_frames(batch, "frames", "thumbnail", o.frames)
        caps: list[str | None] = [None] * len(pictures)
        for tiled in (False, True):  # one prompt per model call
            idx = [i for i, p in enumerate(pictures) if p and (len(p) > 1) == tiled]
            for k in range(0, len(idx), self.batch_size):
                part = idx[k : k + self.batch_size]
                images = [grid(pictures[i]) for i in part]
                for i, c in zip(part, self.captioner.caption(images, o.grid_prompt if tiled else None)):
                    caps[i] = c or None
        return arrow.set_column(batch, "caption", pa.array(caps, type=pa.string()))


__all__ = ["AssembledCaptioner", "Captioner", "HFCaptioner", "CaptionOptions", "CaptionStage", "save_projector"]
