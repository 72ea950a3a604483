"""The tables of a run directory, read once for the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from portfolio_rl.errors import PortfolioRLError


def _numbers(value: Any) -> bool:
    return isinstance(value, dict) and all(
        isinstance(v, int | float | str) or v is None for v in value.values()
    )


def _is_dict(value: Any) -> bool:
    return isinstance(value, dict)


def _texts(value: Any) -> bool:  # or null
    return value is None or (isinstance(value, list) and all(isinstance(v, str) for v in value))


#: The shapes the report reads from a run's ``config.json``: a field of another kind (an
#: edit) is one error naming it, never a traceback from a page.
def _mandate(value: Any) -> bool:
    """A config's ``constraints``: what `Mandate` accepts."""
    from portfolio_rl.conventions.mandate import Mandate

    try:
        Mandate(**value)
    except (TypeError, ValueError):
        return False
    return True


CONFIG_FIELDS: dict[str, Any] = {
    **dict.fromkeys(("data", "splits", "backtest", "rl", "strategy_params"), _is_dict),
    "policies": lambda v: (
        v is None or (_is_dict(v) and all(isinstance(x, str) for x in v.values()))
    ),
    "risk_free": lambda v: (
        _numbers(v)
        and all(
            isinstance(v.get(k, 0.0), int | float) for k in ("annualised_mean", "first", "last")
        )
    ),
    "assets": _texts,
    "transfers": _texts,
    "constraints": _mandate,
    "data_range": lambda v: v is None or (_texts(v) and len(v) == 2),
    "strategies": _texts,
    "n_boot": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "rf": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "train_and_backtest_s": lambda v: v is None or isinstance(v, int | float),
}


class Run:
    """The tables of a run directory, every one checked on load.

    A missing, truncated, binary or hand-edited file (text where numbers belong) is one
    `PortfolioRLError` naming the file, never a traceback from a chart.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.returns = self._csv("returns.csv", index_col=0, parse_dates=True, required=True)
        self.metrics = self._csv("metrics.csv", index_col=0, required=True, text=("status",))
        self.stats = self._csv(
            "stats.csv", index_col=0, required=True, text=("comparator", "anchor")
        )
        self.config = self._json("config.json", required=True)
        for key, check in CONFIG_FIELDS.items():
            if key in self.config and not check(self.config[key]):
                self._fail("config.json", f"its {key} field has an invalid value")
        for name, frame in (("metrics.csv", self.metrics), ("returns.csv", self.returns)):
            if frame.empty:
                self._fail(name, "it has no rows")
        self.turnover = self._csv("turnover.csv", index_col=0, parse_dates=True)
        self.costs = self._csv("costs.csv", index_col=0, parse_dates=True)
        self.failures = self._csv("failures.csv", numeric=False)
        self.seeds = self._csv("seeds.csv", numeric=False)
        self.folds = self._csv("folds.csv", index_col=0, numeric=False)
        self.sweep = self._csv("sweep.csv", numeric=False)  # a sweep's trials (its test run)
        self.sweep_winner = self._json("sweep.json")
        self.steering = {  # what steered policies chose at each decision
            p.stem: self._csv(p, index_col=0, parse_dates=True)
            for p in sorted((folder / "steering").glob("*.csv"))
        }
        self.weights = {
            p.stem: self._csv(p, index_col=0, parse_dates=True)
            for p in sorted((folder / "weights").glob("*.csv"))
        }
        self.logs: dict[str, pd.DataFrame] = {}
        self.summaries: dict[str, dict[str, Any]] = {}
        policies = self.config.get("policies") or {}
        if not isinstance(policies, dict):
            self._fail("config.json", "its policies field is not a mapping")
        for name, rel in policies.items():
            folds = sorted((folder / str(rel)).glob("fold-*")) or [folder / str(rel)]
            for k, run in enumerate(folds):
                label = name if len(folds) == 1 else f"{name} fold {k + 1}"
                log = self._csv(run / "train_log.csv")
                summary = self._json(run / "summary.json")
                if log is not None:
                    self.logs[label] = log
                if summary is not None:
                    self.summaries[label] = summary

    def _path(self, name: str | Path) -> Path:
        """A file of the run: a name inside its folder, or a path found under it."""
        return name if isinstance(name, Path) else self.folder / name

    def _fail(self, name: str | Path, reason: str) -> None:
        raise PortfolioRLError(f"{self._path(name)} cannot be read: {reason}")

    def _csv(
        self,
        name: str | Path,
        required: bool = False,
        numeric: bool = True,
        text: tuple[str, ...] = (),
        **kw: Any,
    ) -> pd.DataFrame | None:
        """A CSV of the run (None if absent and not required); numbers in every column but
        the ``text`` ones unless ``numeric`` is False."""  # noqa: D205, D209
        path = self._path(name)
        if not path.is_file():
            if required:
                self._fail(name, "it is missing (not a complete run directory)")
            return None
        try:
            frame = pd.read_csv(path, **kw)
            if numeric:  # text in a table of numbers: an edit
                frame.drop(columns=[c for c in text if c in frame]).to_numpy(dtype=float)
        except Exception as exc:  # a truncated, binary or edited file, however pandas fails
            self._fail(name, (str(exc).splitlines() or [type(exc).__name__])[0])
        return frame

    def _json(self, name: str | Path, required: bool = False) -> dict[str, Any] | None:
        """A JSON object of the run (None if absent and not required)."""
        path = self._path(name)
        if not path.is_file():
            if required:
                self._fail(name, "it is missing (not a complete run directory)")
            return None
        try:
            value = json.loads(path.read_text())
        except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
            self._fail(name, str(exc))
        if not isinstance(value, dict):
            self._fail(name, "it is not a JSON object")
        return value
