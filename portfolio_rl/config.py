"""Typed configuration from plain mappings: strict conversion, safe YAML, no surprises.

Every component has one frozen dataclass, validated in ``__post_init__``; :func:`from_mapping`
builds one from a mapping (a YAML document, a JSON file, command-line flags), refusing
unknown keys and values of the wrong type with one clear :class:`ConfigError`.
"""

from __future__ import annotations

import dataclasses
import datetime
import types
import typing
from typing import Any

from portfolio_rl.errors import ConfigError


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return from_mapping(tp, value, where)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value, where)
    if origin is tuple:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return tuple(_convert(args[0], v, where) for v in value)
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if tp in (int, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        if tp is int and float(value) != int(value):
            raise ConfigError(f"{where}: expected a whole number, got {value!r}")
        return tp(value)
    if tp is str:
        if isinstance(value, datetime.date):  # YAML reads 2015-01-01 as a date
            return value.isoformat()
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ConfigError(f"{where}: expected text, got {value!r}")
        return str(value)
    return value


def from_mapping(cls: type, mapping: Any, where: str = "config") -> Any:
    """Build dataclass ``cls`` from a mapping; unknown keys and bad values are ConfigError."""
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, dict):
        raise ConfigError(f"{where}: expected a mapping, got {mapping!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(mapping) - names)
    if unknown:
        bad, known = ", ".join(map(str, unknown)), ", ".join(sorted(names))
        raise ConfigError(f"{where}: unknown key(s) {bad}; known: {known}")
    kwargs = {k: _convert(hints[k], v, f"{where}.{k}") for k, v in mapping.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def replace(config: Any, **changes: Any) -> Any:
    """``dataclasses.replace`` that ignores None values (unset command-line flags)."""
    changes = {k: v for k, v in changes.items() if v is not None}
    try:
        return dataclasses.replace(config, **changes)
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None
