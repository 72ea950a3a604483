"""The tables of a run directory, read once for the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from portfolio_rl.errors import PortfolioRLError


class Run:
    """The tables of a run directory."""

    def __init__(self, folder: Path) -> None:
        def csv(name: str, **kw: Any) -> pd.DataFrame | None:
            path = folder / name
            return pd.read_csv(path, **kw) if path.is_file() else None

        self.folder = folder
        try:
            self.returns = pd.read_csv(folder / "returns.csv", index_col=0, parse_dates=True)
            self.metrics = pd.read_csv(folder / "metrics.csv", index_col=0)
            self.stats = pd.read_csv(folder / "stats.csv", index_col=0)
            self.config = json.loads((folder / "config.json").read_text())
            if self.metrics.empty or self.returns.empty:
                raise ValueError("metrics.csv or returns.csv has no rows")
            float(self.returns.to_numpy(dtype=float).sum())  # numbers, not text
        except Exception as exc:  # a missing, truncated or edited file, however pandas fails
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise PortfolioRLError(f"{folder} is not a complete run directory: {reason}") from None
        self.turnover = csv("turnover.csv", index_col=0, parse_dates=True)
        self.costs = csv("costs.csv", index_col=0, parse_dates=True)
        self.failures = csv("failures.csv")
        self.seeds = csv("seeds.csv")
        self.folds = csv("folds.csv", index_col=0)
        self.sweep = csv("sweep.csv")  # a sweep's trials (its test run only)
        meta = folder / "sweep.json"
        self.sweep_winner = json.loads(meta.read_text()) if meta.is_file() else None
        self.steering = {  # what steered policies chose at each decision
            p.stem: pd.read_csv(p, index_col=0, parse_dates=True)
            for p in sorted((folder / "steering").glob("*.csv"))
        }
        self.weights = {
            p.stem: pd.read_csv(p, index_col=0, parse_dates=True)
            for p in sorted((folder / "weights").glob("*.csv"))
        }
        self.logs: dict[str, pd.DataFrame] = {}
        self.summaries: dict[str, dict[str, Any]] = {}
        for name, rel in (self.config.get("policies") or {}).items():
            folds = sorted((folder / rel).glob("fold-*")) or [folder / rel]  # walk-forward
            for k, run in enumerate(folds):
                label = name if len(folds) == 1 else f"{name} fold {k + 1}"
                log, summary = run / "train_log.csv", run / "summary.json"
                if log.is_file():
                    self.logs[label] = pd.read_csv(log)
                if summary.is_file():
                    self.summaries[label] = json.loads(summary.read_text())
