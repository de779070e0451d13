"""What the embedding roles share: dual encoders (a tower per modality and a text tower
in one space) and the stage shape "one input per row -> one vector column".

:class:`DualEncoder` loads any transformers model with ``get_text_features`` and the
modality's own ``get_*_features`` (CLIP/SigLIP for pictures, CLAP for sound), once per
(model, device, dtype) and process; its vectors are L2-normalised float32 ``(n, dim)``.
:class:`EmbedStage` is the model stage that reads one input per row, encodes the rows
that have one in batches, and writes a nullable vector column.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from medialake import arrow
from medialake.errors import ModelError
from medialake.models.registry import cached, check_device, resolve, torch_dtype
from medialake.models.stage import ModelStage
from medialake.settings import Frozen


class EncoderOptions(Frozen):
    """Options of an embedding role: the weights' dtype."""

    dtype: str = "auto"


def features(out) -> Any:
    """The embedding tensor of a ``get_*_features`` call (transformers 5 returns a model
    output whose ``pooler_output`` is the projection)."""
    if hasattr(out, "pooler_output") and not hasattr(out, "shape"):
        return out.pooler_output
    return out


class DualEncoder:
    """A modality tower and a text tower in one space; subclasses name the modality.

    Subclasses set ``kind`` (the role, for messages and the cache key), ``processor_class``
    (the transformers auto class of the modality's processor), ``feature_method`` (the
    model's ``get_*_features``), ``family`` and ``pair`` (what to name in errors), and may override
    :meth:`_text_inputs`.
    """

    kind: ClassVar[str]
    processor_class: ClassVar[str]
    feature_method: ClassVar[str]
    family: ClassVar[str]
    pair: ClassVar[str]

    def __init__(self, model: str, device: str = "auto", dtype: str = "auto", max_length: int = 64):
        import torch
        import transformers

        self.device = check_device(device)
        path = resolve(model)
        try:
            self.model = transformers.AutoModel.from_pretrained(
                path, dtype=torch_dtype(self.device, dtype)).to(self.device).eval()
            self.processor = getattr(transformers, self.processor_class).from_pretrained(path)
            self.tokenizer = transformers.AutoTokenizer.from_pretrained(path)
        except (OSError, ValueError) as e:
            raise ModelError(f"cannot load {self.kind} model {model!r} ({path}): {e}; name a {self.family} "
                             "directory holding config.json, weights, a tokenizer and preprocessor_config.json") from e
        if not hasattr(self.model, self.feature_method):
            raise ModelError(f"{self.kind} model {model!r} is a {type(self.model).__name__}, not a dual "
                             f"{self.pair} encoder; use a {self.family} model")
        self.model_type = getattr(self.model.config, "model_type", "")
        self.max_length = max_length
        self._torch = torch
        self.dim = int(self.encode_texts(["probe"]).shape[1])

    @classmethod
    def shared(cls, model: str, device: str = "auto", dtype: str = "auto"):
        """One encoder per process per (model, device, dtype)."""
        return cached((cls.kind, model, check_device(device), dtype), lambda: cls(model, device, dtype))

    def _normalise(self, t) -> np.ndarray:
        t = self._torch.nn.functional.normalize(features(t).float(), dim=-1)
        return t.cpu().numpy().astype(np.float32, copy=False)

    def _empty(self) -> np.ndarray:
        return np.zeros((0, getattr(self, "dim", 0)), dtype=np.float32)

    def _text_inputs(self, texts: list[str]) -> dict:
        enc = self.tokenizer(texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")
        return {k: v.to(self.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}

    def _features(self, **inputs) -> np.ndarray:
        with self._torch.inference_mode():
            return self._normalise(getattr(self.model, self.feature_method)(**inputs))

    def encode_texts(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return self._empty()
        with self._torch.inference_mode():
            return self._normalise(self.model.get_text_features(**self._text_inputs(texts)))


class EmbedStage(ModelStage):
    """One input per row (from the declared ``reads``) -> the declared vector column.

    Subclasses implement :meth:`inputs` (the rows' inputs, None where a row has none)
    and :meth:`encode` (a batch of inputs -> ``(n, dim)`` vectors); ``self.encoder.dim``
    gives the width.
    """

    Options = EncoderOptions
    encoder: Any

    def inputs(self, batch: pa.Table) -> list:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def encode(self, items: list) -> np.ndarray:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def __call__(self, batch: pa.Table) -> pa.Table:
        items = self.inputs(batch)
        present = np.array([x is not None for x in items], dtype=bool)
        todo = [x for x in items if x is not None]
        parts = [self.encode(todo[i : i + self.batch_size]) for i in range(0, len(todo), self.batch_size)]
        vecs = np.concatenate(parts) if parts else np.zeros((0, self.encoder.dim), np.float32)
        return arrow.set_column(batch, self.writes[0], arrow.vector_column(vecs, present, self.encoder.dim))
