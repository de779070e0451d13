"""Embed a query in every space the database has and an encoder can fill.

``embed_query(table, text=..., image=..., audio=..., config=...)`` looks at the vector
columns the ``segments`` table actually has (``text_vector``, ``image_vector``,
``audio_vector``, ...) and returns an :class:`EmbeddedQuery`: one :class:`VectorQuery`
per (space, query part), plus the texts to send to the full-text index:

- a text query: every space whose encoder embeds text, and the full-text index;
- an image query: the ``image_text`` space;
- an audio query: the ``audio`` space, and through speech recognition the text spaces
  and the full-text index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from medialake.errors import ModelError, NotConfiguredError
from medialake.search.config import SearchConfig
from medialake.search.encoders import default_models, load_encoder, read_audio, read_image
from medialake.store import vector_columns

#: Vector column -> embedding space. Other ``X_vector`` columns are space ``X``.
SPACE_OF = {"text_vector": "text", "image_vector": "image_text", "audio_vector": "audio"}


def space_of(column: str) -> str:
    return SPACE_OF.get(column, column.removesuffix("_vector"))


@dataclass
class VectorQuery:
    space: str
    column: str
    vector: np.ndarray
    source: str  # "text", "image", "audio" or "transcript"

    @property
    def name(self) -> str:
        """The ranked list's name, as ``--explain`` shows it: ``image_text<-image``."""
        return f"{self.space}<-{self.source}"


@dataclass
class EmbeddedQuery:
    """A query as the lists search ranks by: its vectors, its texts for the full-text index,
    the transcript of an audio query, and notes on the spaces skipped."""

    vectors: list[VectorQuery] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # for the full-text index
    transcript: str | None = None
    hashes: list[int] = field(default_factory=list)  # perceptual hashes of an image query
    notes: list[str] = field(default_factory=list)  # spaces skipped and why


class Encoders:
    """Encoders per space: given ones first, then the config's models, then the ingest defaults."""

    def __init__(self, config: SearchConfig, given: dict | None = None):
        self.config = config
        self.given = dict(given or {})
        self._defaults: dict | None = None

    def model(self, role: str) -> str | None:
        name = self.config.asr_model if role == "asr" else self.config.models.get(role)
        if name is None:
            if self._defaults is None:
                self._defaults = default_models()
            name = self._defaults.get(role)
        return name

    def get(self, space: str):
        if space in self.given:
            return self.given[space]
        name = self.model(space)
        return load_encoder(space, name) if name else None


def _check_dim(vec: np.ndarray, column: str, dim: int, space: str) -> np.ndarray:
    vec = np.asarray(vec, dtype=np.float32).reshape(-1)
    if vec.shape[0] != dim:
        raise ModelError(
            f"the {space} encoder gives {vec.shape[0]}-dim vectors but column {column!r} holds {dim}-dim ones; "
            f"search with the model the database was ingested with (search config `models.{space}`)"
        )
    return vec


def transcribe(path: str | Path, model: str) -> str:
    from medialake.models.asr import SpeechRecognizer

    pcm = read_audio(path, 16000)
    return SpeechRecognizer.shared(model).transcribe(pcm).text


def embed_query(table, *, text: str | None = None, image: str | Path | None = None, audio: str | Path | None = None,
                config: SearchConfig | None = None, encoders: dict | None = None) -> EmbeddedQuery:
    """Per-space query vectors (and full-text queries) for a text, image and/or audio query."""
    config = config or SearchConfig()
    enc = encoders if isinstance(encoders, Encoders) else Encoders(config, encoders)
    columns = vector_columns(table)
    out = EmbeddedQuery()
    if text and text.strip():
        _embed_text(out, text, "text", columns, enc, config)
    if image is not None:
        hashed = "phash" in table.schema.names and table.count_rows("phash IS NOT NULL") > 0
        _embed_image(out, image, columns, enc, hashed)
    if audio is not None:
        _embed_audio(out, audio, columns, enc, config)
    return out


def _embed_text(out: EmbeddedQuery, text: str, source: str, columns: dict[str, int], enc: Encoders,
                config: SearchConfig) -> None:
    """Add ``text`` for the full-text index and its vector in every space whose encoder embeds text."""
    out.texts.append(text)
    for column, dim in columns.items():
        space = space_of(column)
        if config.weight(space) == 0:
            continue
        e = enc.get(space)
        if e is None or not hasattr(e, "embed_text"):
            out.notes.append(f"{space}: no text encoder configured, not searched for the {source}")
            continue
        vec = _check_dim(e.embed_text([text])[0], column, dim, space)
        out.vectors.append(VectorQuery(space, column, vec, source))


def _embed_image(out: EmbeddedQuery, image: str | Path, columns: dict[str, int], enc: Encoders,
                 hashed: bool = False) -> None:
    """Add the image's perceptual hash (``hashed``: the segments have ``phash``) and its vector
    in the ``image_text`` space; NotConfiguredError if neither can be searched."""
    from medialake.operators.phash import phash

    column = next((c for c in columns if space_of(c) == "image_text"), None)
    e = enc.get("image_text") if column is not None else None
    semantic = column is not None and e is not None and hasattr(e, "embed_images")
    if not semantic and not hashed:
        if column is None:
            raise NotConfiguredError("this database has no image_text vectors (image_vector column) nor perceptual "
                                     "hashes; re-ingest it with this medialake, or with an image/text model")
        raise NotConfiguredError("no image/text model is configured for search; set `models.image_text` in the search config")
    picture = read_image(image)
    if hashed:
        out.hashes.append(phash(picture))
    if not semantic:
        out.notes.append("image_text: no image vectors or no image/text model; the image query is matched "
                         "by perceptual hash (copies and frames of the same picture)")
        return
    vec = _check_dim(e.embed_images([picture])[0], column, columns[column], "image_text")
    out.vectors.append(VectorQuery("image_text", column, vec, "image"))


def _embed_audio(out: EmbeddedQuery, audio: str | Path, columns: dict[str, int], enc: Encoders,
                 config: SearchConfig) -> None:
    """Add the sound's vector in the ``audio`` space and, through speech recognition, its words."""
    column = next((c for c in columns if space_of(c) == "audio"), None)
    e = enc.get("audio") if column else None
    if column and e is not None and hasattr(e, "embed_audio"):
        pcm = read_audio(audio, int(getattr(e, "sample_rate", 48000)))
        vec = _check_dim(e.embed_audio(pcm, int(getattr(e, "sample_rate", 48000))), column, columns[column], "audio")
        out.vectors.append(VectorQuery("audio", column, vec, "audio"))
    else:
        out.notes.append("audio: no audio vectors or no audio encoder; the audio query is searched by its words only")
    asr = enc.given.get("asr") or enc.model("asr")
    if asr:
        words = asr.transcribe_file(audio) if hasattr(asr, "transcribe_file") else transcribe(audio, asr)
        out.transcript = words or None
        if words and words.strip():
            _embed_text(out, words, "transcript", columns, enc, config)
        else:
            out.notes.append("the audio query holds no recognisable speech")
    elif not out.vectors:
        raise NotConfiguredError("cannot search by audio: no audio encoder and no speech recognizer configured")
