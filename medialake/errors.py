"""The small exception tree of medialake.

Every message names the input and says what to do about it.
"""

from __future__ import annotations


class MedialakeError(Exception):
    """Base class of every error medialake raises on purpose."""


class ConfigError(MedialakeError, ValueError):
    """A configuration value is wrong: the message names the field and the fix."""


class InputError(MedialakeError):
    """A source path, URI or database cannot be used as given."""


class DecodeError(MedialakeError):
    """A media file cannot be probed or decoded."""


class ModelError(MedialakeError):
    """A model cannot be found, loaded or run."""


class DecodeTimeout(DecodeError):
    """Decoding one file took longer than ``decode.timeout_s``."""

class LockedError(MedialakeError):
    """Another ingest holds the database: the message names its owner and what to do."""


class NotConfiguredError(InputError):
    """A query needs a model role (or vector space) that this database or config lacks."""
