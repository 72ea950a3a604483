"""Experiment configuration: frozen dataclasses, loaded from YAML safely and validated.

An experiment file (``backtests/sp500.yaml``) names the data, the date splits, the
backtest settings, the strategies and their parameters, the RL algorithms, seeds and
training settings. Unknown keys and bad values are one clear error; the resolved config is
saved as JSON with every run.
"""

from __future__ import annotations

import dataclasses
import datetime
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from portfolio_rl.backtest.engine import BacktestConfig
from portfolio_rl.errors import ConfigError

ALGOS = ("grpo", "ppo", "reinforce")


@dataclass(frozen=True)
class DataConfig:
    """Where the prices come from.

    Attributes
    ----------
    prices : str
        Bundled name or CSV/parquet path; ignored when ``tickers`` is given.
    tickers : list of str, optional
        Download these with yfinance (through the cache) instead.
    start, end : str, optional
        Date range of the prices loaded (history for features included).
    """

    prices: str = "sp500"
    tickers: tuple[str, ...] | None = None
    start: str | None = "2000-01-01"
    end: str | None = None


@dataclass(frozen=True)
class SplitConfig:
    """Consecutive train / validation / test ranges: train to ``train_end``, validation to
    ``val_end``, test after it (touched once, by the backtest)."""  # noqa: D205, D209

    train_end: str = "2012-12-31"
    val_end: str = "2014-12-31"

    def __post_init__(self) -> None:
        try:
            a, b = pd.Timestamp(self.train_end), pd.Timestamp(self.val_end)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"unparseable split date: {exc}") from None
        if a >= b:
            raise ValueError("train_end must be before val_end")


@dataclass(frozen=True)
class RLConfig:
    """Which policies to train and how.

    Attributes
    ----------
    algos : list of str
        Any of ``grpo``, ``ppo``, ``reinforce``.
    seeds : list of int
        One training run per algorithm and seed.
    train : dict
        Overrides of :class:`portfolio_rl.agents.config.TrainConfig` fields.
    """

    algos: tuple[str, ...] = ALGOS
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    train: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        bad = [a for a in self.algos if a not in ALGOS]
        if bad:
            raise ValueError(f"unknown algorithm(s) {bad}; choose from {list(ALGOS)}")
        if not self.seeds:
            raise ValueError("need at least one seed")


@dataclass(frozen=True)
class ExperimentConfig:
    """One experiment: data, splits, backtest, strategies, RL, report settings."""

    name: str = "sp500"
    data: DataConfig = field(default_factory=DataConfig)
    splits: SplitConfig = field(default_factory=SplitConfig)
    backtest: BacktestConfig = field(default_factory=BacktestConfig)
    rf: float = 0.0
    strategies: tuple[str, ...] | None = None
    strategy_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    rl: RLConfig = field(default_factory=RLConfig)
    n_boot: int = 1000

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (the resolved config saved with runs)."""
        return dataclasses.asdict(self)


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


def load_experiment(path: str | Path | None) -> ExperimentConfig:
    """Load an experiment YAML with ``yaml.safe_load`` (no Python objects), or the defaults."""
    import yaml

    if path is None:
        return ExperimentConfig()
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {str(exc).splitlines()[0]}") from None
    return from_mapping(ExperimentConfig, raw, where=path.name)


def default_config_path() -> Path:
    """``backtests/sp500.yaml`` in a checkout, else the copy shipped in the wheel."""
    from portfolio_rl.paths import CHECKOUT_DIR, PACKAGE_DIR, from_checkout

    if from_checkout():
        return CHECKOUT_DIR / "backtests" / "sp500.yaml"
    return PACKAGE_DIR / "_data" / "sp500.yaml"


def replace(config: Any, **changes: Any) -> Any:
    """``dataclasses.replace`` that ignores None values (unset command-line flags)."""
    changes = {k: v for k, v in changes.items() if v is not None}
    try:
        return dataclasses.replace(config, **changes)
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None
