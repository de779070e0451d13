"""Query encoders, one per embedding space, and the media a query can carry.

The interface search needs from an encoder is small; an object may implement any of:

- ``embed_text(texts: list[str]) -> (n, dim) float32``  (text, image_text, audio spaces)
- ``embed_images(images: list[PIL.Image]) -> (n, dim)``  (image_text space)
- ``embed_audio(pcm: float32 mono, sample_rate) -> (dim,)`` and ``sample_rate``  (audio space)

Vectors are L2-normalised. :func:`load_encoder` builds the one named for a space:
each space wraps the encoder ingest used for its column (:mod:`medialake.models.text`,
:mod:`medialake.models.image_text`, :mod:`medialake.models.audio`), so query vectors and
stored vectors come from the same code. Pass your own objects to
``search(..., encoders={"image_text": obj})`` to use another implementation.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from medialake.errors import InputError, ModelError
from medialake.models.registry import pick_device


class TextSpace:
    """The ``text`` space: sentence embeddings of the combined text."""

    def __init__(self, model: str = "all-MiniLM-L6-v2", device: str = "auto"):
        from medialake.models.text import TextEncoder

        self.encoder = TextEncoder.shared(model, device)
        self.dim = self.encoder.dim

    def embed_text(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode(texts)


class ClipSpace:
    """The ``image_text`` space: the same CLIP/SigLIP encoder ingest used for ``image_vector``."""

    def __init__(self, model: str, device: str = "auto"):
        from medialake.models.image_text import ImageTextEncoder

        self.encoder = ImageTextEncoder.shared(model, device)

    def embed_text(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode_texts(texts)

    def embed_images(self, images: list) -> np.ndarray:
        return self.encoder.encode_images([im.convert("RGB") for im in images])


class ClapSpace:
    """The ``audio`` space: the same CLAP encoder ingest used for ``audio_vector``."""

    sample_rate = 16000  # query audio is decoded to 16 kHz mono; the encoder resamples

    def __init__(self, model: str, device: str = "auto"):
        from medialake.models.audio import AudioTextEncoder

        self.encoder = AudioTextEncoder.shared(model, device)

    def embed_text(self, texts: list[str]) -> np.ndarray:
        return self.encoder.encode_texts(texts)

    def embed_audio(self, pcm: np.ndarray, sample_rate: int) -> np.ndarray:
        return self.encoder.encode_audio([pcm], sample_rate)[0]


FACTORIES = {"text": TextSpace, "image_text": ClipSpace, "audio": ClapSpace}


def load_encoder(space: str, model: str, device: str = "auto"):
    """The query encoder of ``space`` for ``model``, loaded once per process."""
    if space not in FACTORIES:
        raise ModelError(f"no query encoder for embedding space {space!r}; pass one in encoders={{...}}")
    key = (space, model, pick_device(device))
    if key not in _loaded:  # not registry.cached: TextSpace itself loads through it (one lock)
        _loaded[key] = FACTORIES[space](model, device)
    return _loaded[key]


_loaded: dict[tuple, object] = {}


def default_models() -> dict[str, str | None]:
    """The model of each role in the default ingest profile (what ingest wrote with)."""
    from medialake.models.registry import DEFAULT_MODELS

    return {role: DEFAULT_MODELS[role] for role in ("text", "image_text", "audio", "asr")}


# --- query media -------------------------------------------------------------------------

def read_image(path: str | Path):
    """Decode an image file for a query, upright (EXIF applied), as a PIL image."""
    from medialake.operators.image import decode_image_file

    p = Path(path)
    if not p.is_file():
        raise InputError(f"query image {str(path)!r} does not exist; pass the path of an image file")
    try:
        frames, _ = decode_image_file(str(p), max_pixels=200_000_000)  # upright: EXIF applied
    except InputError:
        raise
    except Exception as e:
        raise InputError(f"query image {str(path)!r} cannot be decoded ({e}); pass a JPEG, PNG or WebP file") from e
    return frames[0]


def read_audio(path: str | Path, sample_rate: int = 16000) -> np.ndarray:
    """Decode the audio of a file for a query: mono float32 PCM at ``sample_rate``."""
    from medialake.operators.audio import decode_audio
    from medialake.operators.probe import open_container

    p = Path(path)
    if not p.is_file():
        raise InputError(f"query audio {str(path)!r} does not exist; pass the path of an audio or video file")
    try:
        with open_container(str(p)) as c:
            return decode_audio(c, sample_rate)
    except Exception as e:
        raise InputError(f"query audio {str(path)!r} cannot be decoded ({e}); pass a WAV, MP3, OGG or video file") from e
