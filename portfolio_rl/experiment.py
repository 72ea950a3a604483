"""Experiment configuration: data, splits, backtest, strategies, RL; loaded from YAML safely.

An experiment file (``backtests/sp500.yaml``) names the data, the date splits, the
backtest settings, the strategies and their parameters, the RL algorithms, seeds and
training settings. Unknown keys and bad values are one clear error; the resolved config is
saved as JSON with every run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from portfolio_rl.agents.registry import ALGORITHMS
from portfolio_rl.backtest.engine import BacktestConfig
from portfolio_rl.config import from_mapping
from portfolio_rl.datasets import DataConfig
from portfolio_rl.errors import ConfigError


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

    algos: tuple[str, ...] = tuple(ALGORITHMS)
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    train: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        bad = [a for a in self.algos if a not in ALGORITHMS]
        if bad:
            raise ValueError(f"unknown algorithm(s) {bad}; choose from {list(ALGORITHMS)}")
        if not self.seeds:
            raise ValueError("need at least one seed")


@dataclass(frozen=True)
class ExperimentConfig:
    """One experiment: data, splits, backtest, strategies, RL, report settings.

    Attributes
    ----------
    name : str
    data, splits, backtest, rl
        See :class:`~portfolio_rl.datasets.DataConfig`, :class:`SplitConfig`,
        :class:`~portfolio_rl.backtest.engine.BacktestConfig`, :class:`RLConfig`.
    rf : float
        Annual risk-free rate for data without a risk-free series of its own (``industries49``
        has the French ``RF``): what cash earns and Sharpe is in excess of.
    cash : bool
        Cash is an asset: it earns the risk-free rate, trades free, and is where every
        portfolio starts; RL policies get an exposure head; baselines stay fully invested
        unless they time exposure (``vol_managed``, ``vol_target``).
    strategies : list of str, optional
        Baselines to run (default: every one that applies).
    strategy_params : dict
        Parameters per baseline.
    n_boot : int
        Bootstrap resamples of the statistics.
    """

    name: str = "sp500"
    data: DataConfig = field(default_factory=DataConfig)
    splits: SplitConfig = field(default_factory=SplitConfig)
    backtest: BacktestConfig = field(default_factory=BacktestConfig)
    rf: float = 0.0
    cash: bool = False
    strategies: tuple[str, ...] | None = None
    strategy_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    rl: RLConfig = field(default_factory=RLConfig)
    n_boot: int = 1000

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (the resolved config saved with runs)."""
        return dataclasses.asdict(self)


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


