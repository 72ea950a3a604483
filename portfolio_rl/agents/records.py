"""Checkpoints as units, and the checks of their metadata on load.

A checkpoint is one file, ``<stem>.pt``: the tensors (a ``state_dict``) and the metadata
(JSON text) together, loaded with ``weights_only=True``. ``<stem>.json`` is a readable copy
of the metadata: removed before the unit is replaced and written after, so a kill at any
moment leaves the old unit or the new one, and a copy that matches it or none. A copy that
exists and differs was edited: an error, as is any field of the wrong type or range.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from portfolio_rl.errors import DataError
from portfolio_rl.plumbing.files import atomic_write, atomic_write_text


def save_unit(folder: Path, stem: str, state: dict[str, Any], meta: dict[str, Any]) -> None:
    """Write ``stem.pt`` (tensors and metadata, atomically) and its copy ``stem.json``."""
    copy = Path(folder) / f"{stem}.json"
    copy.unlink(missing_ok=True)
    buffer = io.BytesIO()  # given a path, torch would store its random temporary name
    torch.save({"state": state, "meta": json.dumps(meta)}, buffer)
    data = buffer.getvalue()
    atomic_write(Path(folder) / f"{stem}.pt", lambda tmp: tmp.write_bytes(data))
    atomic_write_text(copy, json.dumps(meta, indent=2) + "\n")


def load_unit(folder: Path, stem: str) -> tuple[dict[str, Any], dict[str, Any] | None, bytes]:
    """``(state, meta, file bytes)`` of ``stem.pt``; meta is None for an earlier version's file.

    Raises a one-line DataError naming the file when it is missing, damaged or holds code,
    and when ``stem.json`` exists but differs from the metadata inside ``stem.pt``.
    """
    path = Path(folder) / f"{stem}.pt"
    try:
        data = path.read_bytes()
        blob = torch.load(io.BytesIO(data), weights_only=True, map_location="cpu")
    except FileNotFoundError:
        raise DataError(f"{path} is missing") from None
    except Exception as exc:  # torch.load refuses code (UnpicklingError) and bad files
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise DataError(f"{path} cannot be read: {reason}") from None
    if not (isinstance(blob, dict) and set(blob) == {"state", "meta"}):
        return blob, None, data  # written before checkpoints were units
    try:
        meta = json.loads(blob["meta"])
        if not isinstance(meta, dict) or not isinstance(blob["state"], dict):
            raise ValueError("not a mapping")
    except (TypeError, ValueError) as exc:
        raise DataError(f"{path} cannot be read: its metadata is damaged ({exc})") from None
    copy = path.with_suffix(".json")
    if copy.exists():
        try:
            theirs = json.dumps(json.loads(copy.read_text()), sort_keys=True)
        except (OSError, ValueError):
            theirs = None
        if theirs != json.dumps(meta, sort_keys=True):
            raise DataError(
                f"{copy} does not match the record inside {path.name} (edited after "
                f"training?); restore it, or delete it to use {path.name}'s record"
            )
    return blob["state"], meta, data


def sha256(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def legacy_signature(meta: dict[str, Any], weights_sha256: str) -> str:
    """The sha256 that bound an earlier version's ``policy.json`` to its ``policy.pt``: of
    the weights' hash and every metadata field but itself (an integrity check against
    edits, not a security measure)."""  # noqa: D205, D209
    fields = {k: v for k, v in meta.items() if k != "signature"}
    text = json.dumps([weights_sha256, fields], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------- field checks


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_date(v: Any) -> bool:
    from portfolio_rl.plumbing.typed import parse_date

    try:
        return isinstance(v, str) and parse_date(v) is not None
    except ValueError:
        return False


def _optional(check: Callable[[Any], bool]) -> Callable[[Any], bool]:
    return lambda v: v is None or check(v)


def _str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _guide(v: Any) -> bool:  # an anchor's or a steered baseline's record
    return (
        isinstance(v, dict)
        and isinstance(v.get("name"), str)
        and _is_int(v.get("window"))
        and v["window"] >= 2
        and isinstance(v.get("params", {}), dict)
    )


def _steer(v: Any) -> bool:
    return (
        _guide(v)
        and _str_list(v.get("names"))
        and isinstance(v.get("configured"), dict)
        and isinstance(v.get("levels"), list)
        and all(_is_number(x) for x in v["levels"])
    )


#: What ``policy.json`` (the record in ``policy.pt``) must hold: field -> check.
POLICY_FIELDS: dict[str, Callable[[Any], bool]] = {
    "algo": lambda v: isinstance(v, str),
    "seed": _is_int,
    "obs_features": lambda v: _is_int(v) and v > 0,
    "features": _str_list,
    "hidden": lambda v: _is_int(v) and 1 <= v <= 4096,
    "distribution": lambda v: v in ("logistic_normal", "dirichlet"),
    "cash": lambda v: isinstance(v, bool),
    "assets": lambda v: _str_list(v) and len(v) > 0,
    "rebalance_days": lambda v: _is_int(v) and v >= 1,
    "best_iteration": lambda v: _is_int(v) and v >= -1,
    "train_end": _is_date,
    "val_end": _is_date,
    "anchor": _optional(_guide),
    "steer": _optional(_steer),
    "init_policy": _optional(lambda v: isinstance(v, str)),
}

#: What ``last.json`` (the record in ``last.pt``) must hold.
LAST_FIELDS: dict[str, Callable[[Any], bool]] = {
    "next_iteration": lambda v: _is_int(v) and v >= 0,
    "finished": _optional(lambda v: isinstance(v, str)),
    "best_score": _is_number,
    "best_iteration": lambda v: _is_int(v) and v >= -1,
    "bad_evals": lambda v: _is_int(v) and v >= 0,
    "numpy_rng": lambda v: isinstance(v, dict),
    "rows": lambda v: isinstance(v, list) and all(isinstance(r, dict) for r in v),
}


def check_fields(
    meta: dict[str, Any], fields: dict[str, Callable[[Any], bool]], where: Path
) -> None:
    """Raise a one-line DataError naming the file and the first missing or invalid field."""
    for name, check in fields.items():
        if name not in meta:
            raise DataError(f"{where}: field {name!r} is missing")
        if not check(meta[name]):
            raise DataError(f"{where}: field {name!r} has an invalid value {meta[name]!r}")
    from portfolio_rl.plumbing.typed import parse_date

    if "train_end" in fields and parse_date(meta["train_end"]) >= parse_date(meta["val_end"]):
        raise DataError(f"{where}: train_end {meta['train_end']} is not before val_end")
