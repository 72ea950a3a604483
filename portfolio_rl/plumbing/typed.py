"""Typed configuration from plain mappings: strict conversion, safe YAML, no surprises.

Every component has one frozen dataclass, validated in ``__post_init__``; `from_mapping`
builds one from a mapping (a YAML document, a JSON file, command-line flags), refusing
unknown keys and values of the wrong type with one clear `ConfigError`.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import types
import typing
from typing import Any

import pandas as pd

from portfolio_rl.errors import ConfigError

#: Dates outside these years are refused: typos such as 2105 or 1015, not data.
YEARS = (1900, 2100)
#: The bound of a numeric setting that declares none: no setting means anything above it.
DEFAULT_MAXIMUM = 1_000_000
#: Seeds are what numpy and torch accept from one integer.
MAX_SEED = 2**32 - 1


def parse_date(value: Any, what: str = "date") -> pd.Timestamp:
    """A date from ``YYYY-MM-DD`` text; ValueError (one line) if unparseable or implausible."""
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError, OverflowError):
        raise ValueError(f"{what} {value!r} is not a date (use YYYY-MM-DD)") from None
    if pd.isna(stamp) or not YEARS[0] <= stamp.year <= YEARS[1]:
        raise ValueError(f"{what} {value!r} is not a date between {YEARS[0]} and {YEARS[1]}")
    return stamp


def check_seed(seed: int, what: str = "seed") -> None:
    """Raise ValueError unless ``0 <= seed <= 2**32 - 1``."""
    if not 0 <= seed <= MAX_SEED:
        raise ValueError(f"{what} must be a whole number from 0 to {MAX_SEED}, got {seed}")


def setting(
    default: Any,
    help: str,
    group: str = "",
    *,
    minimum: float | None = None,
    maximum: float | None = None,
) -> Any:
    """A dataclass field that carries its help, its group and its bounds where it is declared.

    The command line's help, the docs' settings table (`settings_table`) and the
    validation messages (`check_settings`) are all generated from this one place.

    Parameters
    ----------
    default : object
        The default value (a dict or list is copied for each instance).
    help : str
        One or two sentences: what the setting does, in the field's words.
    group : str
        The heading it is listed under (e.g. ``GRPO``, ``PPO only``).
    minimum, maximum : float, optional
        Inclusive bounds that `check_settings` enforces.
    """
    meta = {"help": help, "group": group, "minimum": minimum, "maximum": maximum}
    if isinstance(default, dict | list):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def check_settings(config: Any) -> None:
    """Check every field of a dataclass against its type's choices and its declared bounds.

    ``Literal`` fields must hold one of their values, numbers must be finite and within the
    ``minimum``/``maximum`` of `setting` (at most `DEFAULT_MAXIMUM` where it gives none).
    Raises ValueError with one line naming the field.
    """
    hints = typing.get_type_hints(type(config))
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        choices = literal_choices(hints[f.name])
        if choices and value not in choices:
            raise ValueError(f"{f.name} must be one of {list(choices)}, got {value!r}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if not math.isfinite(value):
            raise ValueError(f"{f.name} must be a finite number, got {value}")
        low, high = f.metadata.get("minimum"), f.metadata.get("maximum")
        if low is not None and high is not None and not low <= value <= high:
            raise ValueError(f"{f.name} must lie in {low}..{high}, got {value}")
        if low is not None and value < low:
            raise ValueError(f"{f.name} must be at least {low}, got {value}")
        high = DEFAULT_MAXIMUM if high is None else high
        if value > high:
            raise ValueError(f"{f.name} must be at most {high}, got {value}")


def literal_choices(tp: Any) -> tuple[Any, ...]:
    """The values of a ``Literal`` type (also inside ``Optional``), else ``()``."""
    if typing.get_origin(tp) is typing.Literal:
        return typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return tuple(c for a in typing.get_args(tp) for c in literal_choices(a))
    return ()


def settings_table(cls: type) -> list[dict[str, str]]:
    """One row per field of a dataclass built with `setting`, in declaration order.

    Returns
    -------
    list of dict
        Keys ``group``, ``name``, ``default``, ``choices`` (``a | b``, or the bounds) and
        ``help``: what the docs table and ``portfolio-rl settings`` print.
    """
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        default = f.default_factory() if callable(f.default_factory) else f.default
        choices = " | ".join(map(str, literal_choices(hints[f.name])))
        low, high = f.metadata.get("minimum"), f.metadata.get("maximum")
        if not choices and (low is not None or high is not None):
            choices = {
                (True, True): f"{low} .. {high}",
                (True, False): f">= {low}",
                (False, True): f"<= {high}",
            }[(low is not None, high is not None)]
        rows.append(
            {
                "group": f.metadata.get("group", ""),
                "name": f.name,
                "default": _show(default),
                "choices": choices,
                "help": f.metadata.get("help", ""),
            }
        )
    return rows


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_show(v)}" for k, v in value.items()) + "}"
    return str(value)


def _convert(tp: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if dataclasses.is_dataclass(tp):
        return from_mapping(tp, value, where)
    if origin is typing.Literal:
        if value not in args or isinstance(value, bool) != isinstance(args[0], bool):
            raise ConfigError(f"{where}: expected one of {list(args)}, got {value!r}")
        return value
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
        if isinstance(value, str):  # YAML 1.1 reads 1e300 (no dot) as text
            try:
                value = float(value) if tp is float or not value.strip().isdigit() else int(value)
            except ValueError:
                raise ConfigError(f"{where}: expected a number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        if not math.isfinite(value):
            raise ConfigError(f"{where}: expected a finite number, got {value!r}")
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
    unknown = sorted(map(str, set(mapping) - names))  # a key may be null or a number
    if unknown:
        bad, known = ", ".join(map(str, unknown)), ", ".join(sorted(names))
        raise ConfigError(f"{where}: unknown key(s) {bad}; known: {known}")
    kwargs = {k: _convert(hints[k], v, f"{where}.{k}") for k, v in mapping.items()}
    try:
        return cls(**kwargs)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


#: The largest config file read (a config is a page of YAML, not a data file).
MAX_CONFIG_BYTES = 1_000_000


def load_yaml(path: Any) -> Any:
    """Read a YAML config safely: at most 1 MB, plain data only, no anchors or aliases, no
    key given twice in one mapping.

    ``yaml.safe_load`` builds no Python objects, but an alias bomb (a few hundred bytes of
    nested aliases) still expands to gigabytes; aliases are refused before anything expands.
    A repeated key would silently keep its last value (YAML 1.1 loaders do), so it is an
    error naming the key and its line.
    """  # noqa: D205
    from pathlib import Path

    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    size = path.stat().st_size
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(f"{path}: {size:,} bytes; a config is at most {MAX_CONFIG_BYTES:,}")

    class NoAliasLoader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark
                raise ConfigError(
                    f"{path}: YAML aliases (*name) are not allowed (line {mark.line + 1})"
                )
            return super().compose_node(parent, index)

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if not isinstance(key, str | int | float | bool):
                    continue  # an unhashable key is refused by the mapping itself
                if key in seen:
                    line = key_node.start_mark.line + 1
                    raise ConfigError(f"{path}: key {key!r} is given twice (line {line})")
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    try:
        text = path.read_text(encoding="utf-8")
        return yaml.load(text, Loader=NoAliasLoader)
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a UTF-8 text file") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a config") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {str(exc).splitlines()[0]}") from None


def replace(config: Any, **changes: Any) -> Any:
    """``dataclasses.replace`` that ignores None values (unset command-line flags)."""
    changes = {k: v for k, v in changes.items() if v is not None}
    try:
        return dataclasses.replace(config, **changes)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ConfigError(str(exc)) from None
