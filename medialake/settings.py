"""The ground that every configuration model stands on: frozen pydantic models that
reject unknown fields, YAML files read as mappings, and validation errors that name the
field and the fix.

Config models live beside what they configure (``operators/config.py`` for decoding,
each model wrapper's options in its own module, ``pipelines/config.py`` for a whole
ingest, ``search/config.py`` for queries); they all build on :class:`Frozen`, so a
misspelt field fails when the config is loaded, not an hour into a run::

    >>> class Options(Frozen):
    ...     beam_size: int = 1
    >>> validate(Options, {"beam_sise": 5}, "asr.options")
    Traceback (most recent call last):
    ConfigError: invalid asr.options: ...
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from medialake.errors import ConfigError


class Frozen(BaseModel):
    """A frozen pydantic model that refuses fields it does not declare."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def explain(err: ValidationError, what: str, hint: str) -> ConfigError:
    """One :class:`ConfigError` listing every field pydantic rejected in ``what``, then ``hint``."""
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        lines.append(f"  {loc}: {e['msg']}")
    return ConfigError(f"invalid {what}:\n" + "\n".join(lines) + f"\n{hint}")


def validate(model: type[BaseModel], data: Any, what: str, hint: str = "Fix the field(s) above.") -> Any:
    """``model.model_validate(data)``, with errors turned into :func:`explain`'s ConfigError."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise explain(e, what, hint) from None


def merge(base: dict, over: dict) -> dict:
    """``over`` laid onto ``base``, nested mappings merged key by key (``over`` wins)."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def read_yaml_mapping(path: str | Path, what: str = "config file") -> dict[str, Any]:
    """The mapping held by the YAML file at ``path``; a clear :class:`ConfigError` otherwise."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{what} {p} does not exist; pass the path of a YAML file")
    try:
        loaded = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{what} {p} is not valid YAML: {e}") from e
    if not isinstance(loaded, dict):
        raise ConfigError(f"{what} {p} must hold a mapping of fields, not {type(loaded).__name__}")
    return loaded
