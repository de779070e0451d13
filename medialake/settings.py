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


def _fields_at(model: type[BaseModel] | None, loc: tuple) -> list[str]:
    """The field names of the (nested) model that holds the field at ``loc``."""
    import typing

    cls = model
    for part in loc[:-1]:
        field = cls.model_fields.get(part) if cls is not None and isinstance(part, str) else None
        if field is None:
            return []
        ann, cls = field.annotation, None
        for cand in (ann, *typing.get_args(ann)):
            if isinstance(cand, type) and issubclass(cand, BaseModel):
                cls = cand
                break
    return list(cls.model_fields) if cls is not None else []


def explain(err: ValidationError, what: str, hint: str, model: type[BaseModel] | None = None) -> ConfigError:
    """One :class:`ConfigError` listing every field pydantic rejected in ``what``, then ``hint``;
    an unknown field names the field of ``model`` it is closest to (a typo)."""
    import difflib

    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden" and e["loc"]:
            near = difflib.get_close_matches(str(e["loc"][-1]), _fields_at(model, tuple(e["loc"])), n=1)
            if near:
                msg += f" (did you mean {near[0]!r}?)"
        lines.append(f"  {loc}: {msg}")
    return ConfigError(f"invalid {what}:\n" + "\n".join(lines) + f"\n{hint}")


def validate(model: type[BaseModel], data: Any, what: str, hint: str = "Fix the field(s) above.") -> Any:
    """``model.model_validate(data)``, with errors turned into :func:`explain`'s ConfigError."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise explain(e, what, hint, model) from None


def merge(base: dict, over: dict) -> dict:
    """``over`` laid onto ``base``, nested mappings merged key by key (``over`` wins)."""
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _yaml_problem(e: Exception) -> str:
    """PyYAML's error on one line: the problem, where, and what it was parsing."""
    problem = getattr(e, "problem", None)
    if not problem:
        return " ".join(str(e).split())
    out = problem
    mark = getattr(e, "problem_mark", None)
    if mark is not None:
        out += f" at line {mark.line + 1}, column {mark.column + 1}"
    context, cmark = getattr(e, "context", None), getattr(e, "context_mark", None)
    if context:
        out += f" ({context}" + (f" from line {cmark.line + 1}, column {cmark.column + 1})" if cmark else ")")
    return out


def read_yaml_mapping(path: str | Path, what: str = "config file") -> dict[str, Any]:
    """The mapping held by the YAML file at ``path``; a clear :class:`ConfigError` otherwise."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"{what} {p} does not exist; pass the path of a YAML file")
    try:
        loaded = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{what} {p} is not valid YAML: {_yaml_problem(e)}; fix that line") from e
    if not isinstance(loaded, dict):
        raise ConfigError(f"{what} {p} must hold a mapping of fields, not {type(loaded).__name__}")
    return loaded
