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
from typing import Any, Literal

import pandas as pd

from portfolio_rl.agents.config import TrainConfig
from portfolio_rl.agents.registry import ALGORITHMS, DEFAULT_ALGOS
from portfolio_rl.backtest.engine import BacktestConfig
from portfolio_rl.conventions.mandate import Mandate
from portfolio_rl.data.sources import DataConfig
from portfolio_rl.errors import ConfigError
from portfolio_rl.plumbing.typed import check_seed, from_mapping, load_yaml, parse_date

#: The shortest validation range of a steered policy: the measure is a Sharpe ratio, whose
#: standard error over two years (about 0.7) is larger than the differences it chooses on.
MIN_VAL_YEARS = 5


@dataclass(frozen=True)
class SplitConfig:
    """Consecutive train / validation / test ranges: train to ``train_end``, validation to
    ``val_end``, test after it (touched once, by the backtest)."""  # noqa: D205, D209

    train_end: str = "2012-12-31"
    val_end: str = "2014-12-31"

    def __post_init__(self) -> None:
        a, b = parse_date(self.train_end, "train_end"), parse_date(self.val_end, "val_end")
        if a >= b:
            raise ValueError("train_end must be before val_end")


@dataclass(frozen=True)
class RLConfig:
    """Which policies to train and how.

    Attributes
    ----------
    algos : list of str
        Any of ``grpo``, ``ppo``, ``reinforce``, ``robust_grpo`` (default: the first three;
        robust GRPO costs S times as much and is asked for by name).
    seeds : list of int
        One training run per algorithm and seed.
    train : dict
        Overrides of [`portfolio_rl.agents.config.TrainConfig`][] fields.
    algo_train : dict
        Overrides for one algorithm only, over ``train``: ``{robust_grpo: {scenarios: 8}}``.
    walk_forward : bool
        Retrain every ``retrain_every`` months through the test range (the default): fold k
        trains on everything up to ``train_end`` + k years and validates on the same length
        of time as the splits' validation range, right before the fold's first trade;
        its policy trades only until the next fold's is ready. False: train once.
    retrain_every : int
        Months between folds.
    fold_iterations : int
        The most iterations of every fold after the first, which starts from the previous
        fold's policy (warm start) and stops earlier by the same rule on validation.
    validation : str
        ``rolling``: each fold validates on the splits' validation length right before it
        trades; ``expanding``: every fold validates from the splits' first validation day to
        the day before it trades (the years before its train_end are also trained on);
        ``auto``: expanding for anchored and steered policies (selected on the test's
        measure, which a longer window estimates better), rolling otherwise.
    seeds_together : bool
        Train GRPO's seeds in one batched process (stacked parameters, one vmapped network
        call; [`portfolio_rl.agents.seeds`][]): the same paths and noise per seed as alone,
        weights equal to about 1e-6 rather than bit for bit. Worth it on a GPU.
    """

    algos: tuple[str, ...] = DEFAULT_ALGOS
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    train: dict[str, Any] = field(default_factory=dict)
    algo_train: dict[str, dict[str, Any]] = field(default_factory=dict)
    walk_forward: bool = True
    retrain_every: int = 12
    fold_iterations: int = 50
    validation: Literal["auto", "rolling", "expanding"] = "auto"
    seeds_together: bool = False

    def __post_init__(self) -> None:
        if not self.algos:
            raise ValueError(
                f"rl.algos is empty: name at least one of {', '.join(ALGORITHMS)} "
                "(portfolio-rl backtest runs the baselines alone)"
            )
        bad = [a for a in self.algos if a not in ALGORITHMS]
        if bad:
            raise ValueError(f"unknown algorithm(s) {bad}; choose from {list(ALGORITHMS)}")
        stray = [a for a in self.algo_train if a not in self.algos]
        if stray:
            raise ValueError(f"algo_train names algorithm(s) {stray} that rl.algos does not run")
        if not all(isinstance(v, dict) for v in self.algo_train.values()):
            raise ValueError("each algo_train entry must be a mapping of training settings")
        if not self.seeds:
            raise ValueError("need at least one seed")
        for seed in self.seeds:
            check_seed(seed)
        if len(set(self.seeds)) != len(self.seeds) or len(set(self.algos)) != len(self.algos):
            raise ValueError("each algorithm and each seed at most once")
        if not (1 <= self.retrain_every <= 120 and 1 <= self.fold_iterations <= 1_000_000):
            raise ValueError(
                "need 1 <= retrain_every <= 120 months and 1 <= fold_iterations <= 1000000"
            )
        if len(self.seeds) > 1000:
            raise ValueError(f"at most 1000 seeds, got {len(self.seeds)}")


@dataclass(frozen=True)
class RunSettings:
    """Where ``portfolio-rl run`` runs its trainings and baselines.

    Attributes
    ----------
    address : str, optional
        A Ray cluster (``HOST:PORT``, or ``auto`` for ``RAY_ADDRESS`` or the local one):
        every training, table block and walk-forward is a task there (``docs/cluster.md``);
        None: this machine's worker processes.
    """

    address: str | None = None


@dataclass(frozen=True)
class ExperimentConfig:
    """One experiment: data, splits, backtest, strategies, RL, report settings.

    Attributes
    ----------
    name : str
    data, splits, backtest, rl
        See [`DataConfig`][portfolio_rl.data.sources.DataConfig], `SplitConfig`,
        [`BacktestConfig`][portfolio_rl.backtest.engine.BacktestConfig], `RLConfig`.
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
    run : RunSettings
        Where `run` trains (``run.address``: a Ray cluster).
    constraints : Mandate
        Weight limits every strategy obeys, RL policies included
        ([`portfolio_rl.conventions.mandate.Mandate`][]): ``max_weight``, ``min_weight``,
        ``min_cash``/``max_cash`` (with cash) and ``groups`` with a cap each.
    compare_to : str
        The comparator named before the test: the verdict and the seed-by-seed table test
        every policy against it (and against 1/N). ``auto``: robust_mv_ellipsoid when the
        run has it, else none (1/N alone); the best robust baseline by test Sharpe stays in
        the report, labelled as chosen after the test.

    Examples
    --------
    >>> from portfolio_rl.workflows import ExperimentConfig
    >>> exp = ExperimentConfig()
    >>> exp.data.prices, exp.rl.seeds, exp.comparator
    ('sp500', (0, 1, 2, 3, 4), 'robust_mv_ellipsoid')
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
    compare_to: str = "auto"
    constraints: Mandate = field(default_factory=Mandate)
    run: RunSettings = field(default_factory=RunSettings)

    def __post_init__(self) -> None:
        """Check everything before any data is read or any folder made."""
        from portfolio_rl.backtest.runner import build_baselines
        from portfolio_rl.baselines import BASELINES, default_strategies

        if not -1 < self.rf <= 1:
            raise ValueError(f"rf must be an annual rate above -1 and at most 1, got {self.rf}")
        if not 1 <= self.n_boot <= 100_000:
            raise ValueError(f"n_boot must be from 1 to 100000, got {self.n_boot}")
        if self.strategies is not None and not self.strategies:
            raise ValueError(
                "strategies is empty: leave it out (null) for every baseline, or name some"
            )
        names = list(self.strategies or default_strategies(self.cash))
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"strategies: {', '.join(repeated)} given more than once")
        unknown = sorted(set(self.strategy_params) - set(BASELINES))
        if unknown:
            raise ValueError(f"strategy_params: unknown strategy {', '.join(unknown)}")
        build_baselines(names, self.strategy_params, self.backtest, cash=self.cash)
        self._check_constraints()
        if self.compare_to not in ("auto", "none", *names) or self.compare_to == "benchmark":
            raise ValueError(
                f"compare_to {self.compare_to!r} is not one of the run's strategies "
                f"({', '.join(n for n in names if n != 'benchmark')}); or auto, none"
            )
        for algo in self.rl.algos:
            cfg = train_config_for(self, algo, self.rl.seeds[0])
            check_anchor(cfg.anchor, self.cash, names)
            if cfg.steer != "none":
                self._check_steer(cfg.steer, names)
        if self.rl.seeds_together and "grpo" in self.rl.algos:
            if train_config_for(self, "grpo", self.rl.seeds[0]).guided:
                raise ValueError(
                    "seeds_together does not take an anchor or a steered baseline yet: set it false"
                )

    def _check_constraints(self) -> None:
        """A mandate is given in one place and fits the run (its assets are checked when
        the prices are read, before any work)."""  # noqa: D205, D209
        if not self.constraints.binding:
            return
        if self.constraints.cash_limits and not self.cash:
            raise ValueError("constraints.min_cash and max_cash need cash (cash: true or --cash)")
        for name, params in self.strategy_params.items():
            given = sorted({"min_weight", "max_weight"} & set(params))
            if given:
                raise ValueError(
                    f"strategy_params.{name} sets {', '.join(given)}: with constraints, "
                    "give weight limits there, for every strategy"
                )
        steered = {train_config_for(self, a, self.rl.seeds[0]).steer for a in self.rl.algos}
        if self.constraints.groups and steered - {"none"}:
            raise ValueError(
                "a steered policy takes max_weight and min_weight, not group caps: its "
                "frontier tables hold weight bounds only"
            )

    def _check_steer(self, name: str, names: list[str]) -> None:
        """A steered baseline is steerable, in the run, and validated on five years or more."""
        from portfolio_rl.baselines.steering import check_steerable

        check_steerable(name, self.strategy_params.get(name))
        if name not in names:
            raise ValueError(f"steer: {name} must be one of the run's strategies (its start)")
        if self.backtest.expanding:
            raise ValueError("steer needs a rolling window (backtest.expanding: false)")
        train_end, val_end = (
            parse_date(d, "") for d in (self.splits.train_end, self.splits.val_end)
        )
        if val_end < train_end + pd.DateOffset(years=MIN_VAL_YEARS) - pd.Timedelta(days=3):
            raise ValueError(
                f"a steered policy is validated on at least {MIN_VAL_YEARS} years of its "
                f"measure; splits.train_end {self.splits.train_end} .. val_end "
                f"{self.splits.val_end} is shorter"
            )

    @property
    def comparator(self) -> str | None:
        """The strategy named in advance that every policy is tested against (or None)."""
        from portfolio_rl.baselines import default_strategies

        if self.compare_to == "none":
            return None
        if self.compare_to != "auto":
            return self.compare_to
        names = self.strategies or default_strategies(self.cash)
        return "robust_mv_ellipsoid" if "robust_mv_ellipsoid" in names else None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form (the resolved config saved with runs)."""
        return dataclasses.asdict(self)


def check_anchor(anchor: str, cash: bool, strategies: list[str] | None = None) -> None:
    """Refuse an anchor that is not ``none``, ``auto`` or a baseline the run can hold, and
    ``auto`` when the run's ``strategies`` hold no baseline to choose from."""  # noqa: D205, D209
    from portfolio_rl.baselines import BASELINES

    if anchor == "auto" and strategies is not None:
        if not [n for n in strategies if n != "benchmark"]:
            raise ValueError("anchor auto chooses among the run's baselines: name some")
    if anchor in ("none", "auto"):
        return
    if anchor not in BASELINES or anchor == "benchmark":
        choices = ", ".join(n for n in BASELINES if n != "benchmark")
        raise ValueError(
            f"anchor {anchor!r} is not a baseline; choose none, auto or one of {choices}"
        )
    if BASELINES[anchor][0].uses_cash and not cash:
        raise ValueError(f"anchor {anchor} holds cash: run it with cash")


def train_config_for(exp: ExperimentConfig, algo: str, seed: int, **overrides: Any) -> TrainConfig:
    """The TrainConfig of an experiment: its data, splits, costs and ``rl.train`` settings.

    ``overrides`` that are not None win over ``rl.algo_train[algo]``, which wins over
    ``rl.train``, which wins over the experiment.
    """
    base = {
        "algo": algo,
        "seed": seed,
        "prices": exp.data.prices,
        "data_start": exp.data.start or "1900-01-01",
        "train_end": exp.splits.train_end,
        "val_end": exp.splits.val_end,
        "rebalance_days": exp.backtest.rebalance_days,
        "cost_bps": exp.backtest.cost_bps,
        "cash": exp.cash,
        "uncertainty_window": exp.backtest.window,
    }
    if exp.constraints.binding:
        base["constraints"] = exp.constraints.to_dict()
    own = exp.rl.algo_train.get(algo, {})
    given = {k: v for k, v in overrides.items() if v is not None}
    chosen = dict(exp.rl.train) | dict(own) | given
    settings = base | chosen
    guided = chosen.get("anchor", "none") != "none" or chosen.get("steer", "none") != "none"
    if guided and "rewards" not in chosen:  # the evaluation's measure (see guided_reward)
        settings["rewards"] = {"certainty_equivalent": 1.0}
        params = {"risk_aversion": guided_risk_aversion(exp)}
        settings["reward_params"] = params | dict(chosen.get("reward_params") or {})
    return from_mapping(TrainConfig, settings, where="rl.train")


def guided_risk_aversion(exp: ExperimentConfig) -> float:
    """The CRRA risk aversion of an anchored or steered policy's default reward.

    The reward is the certainty equivalent of CRRA utility, ``mean - gamma/2 var`` to second
    order; the comparator's mean-variance utility ``mu - lambda sigma^2`` is that with
    ``gamma = 2 lambda`` (``lambda`` its ``risk_aversion``, 5 by default, so 10).
    """
    from portfolio_rl.baselines import BASELINES

    name = exp.comparator or "robust_mv_ellipsoid"
    params = BASELINES.get(name, (None, {}))[1] | exp.strategy_params.get(name, {})
    return 2.0 * float(params.get("risk_aversion", 5.0))


def load_experiment(
    path: str | Path | None, overrides: dict[str, Any] | None = None
) -> ExperimentConfig:
    """Load an experiment YAML safely (`plumbing.typed.load_yaml`), or the defaults.

    ``overrides`` set values by dotted path over the file's (``{"constraints.max_weight":
    0.1}``, the command line's ``--set``). Every value is checked here, before any data is
    read or any run directory made.

    Examples
    --------
    >>> from portfolio_rl.workflows import load_experiment
    >>> exp = load_experiment("backtests/sp500_steered.yaml")
    >>> exp.rl.algos, exp.rl.train["steer"], exp.splits.val_end
    (('grpo',), 'robust_mv_ellipsoid', '2014-12-31')
    >>> load_experiment(None, {"constraints.max_weight": 0.1}).constraints.max_weight
    0.1
    """
    mapping = {} if path is None else load_yaml(path)
    where = "experiment" if path is None else Path(path).name
    if not isinstance(mapping, dict):
        return from_mapping(ExperimentConfig, mapping, where=where)  # its own error
    for key, value in (overrides or {}).items():
        *parents, last = key.split(".")
        node = mapping
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {key}: {part} is not a section")
        node[last] = value
    return from_mapping(ExperimentConfig, mapping, where=where)


def default_config_path() -> Path:
    """``backtests/sp500.yaml`` in a checkout, else the copy shipped in the wheel."""
    from portfolio_rl.plumbing.files import CHECKOUT_DIR, PACKAGE_DIR, from_checkout

    if from_checkout():
        return CHECKOUT_DIR / "backtests" / "sp500.yaml"
    return PACKAGE_DIR / "_data" / "sp500.yaml"
