"""A steered policy's baseline: its frontier tables for training and its solver everywhere else.

Training and validation read the steered baseline's frontier on the days they decide (every
h-th trading day of the training range and the validation decisions;
[`portfolio_rl.baselines.steering.SteeredModel.frontier`][], from the window of returns
ending that day, so changing a later price changes no table); the backtest, ``allocate``
and the env solve the baseline exactly with the parameters a policy chooses, with the held
weights in its cost term (`attach_steering`). The parameters chosen at each decision of a
backtest are kept (`chosen_parameters`) for the run folder and the report.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from portfolio_rl.agents.steer import decision_features, steered_decision
from portfolio_rl.agents.steer_table import Steering
from portfolio_rl.backtest.engine import BacktestConfig
from portfolio_rl.backtest.tables import BLOCK
from portfolio_rl.baselines import BASELINES
from portfolio_rl.baselines.steering import SHRINK_NODES, SteeredModel
from portfolio_rl.conventions.mandate import Mandate
from portfolio_rl.conventions.market import CASH, simple_returns
from portfolio_rl.errors import ConfigError
from portfolio_rl.plumbing.files import atomic_write, child_path
from portfolio_rl.plumbing.processes import map_tasks


def steered_params(
    name: str,
    strategy_params: dict[str, dict[str, Any]],
    config: BacktestConfig,
    mandate: Mandate | None = None,
) -> dict[str, Any]:
    """The baseline's parameters as the backtest builds it (its cost rate and holding
    period unless it names its own, and a mandate's weight bounds: its frontier tables
    and exact solves hold them; the policy's action transform projects onto the rest)."""  # noqa: D205, D209
    params = dict(strategy_params.get(name, {}))
    if mandate is not None and mandate.binding:
        params |= {"min_weight": mandate.min_weight, "max_weight": mandate.max_weight}
    if BASELINES[name][0].uses_costs:
        params.setdefault("cost_bps", config.cost_bps)
        params.setdefault("holding_days", config.rebalance_days)
    return params


def table_days(prices: pd.DataFrame, config: BacktestConfig, last: str) -> pd.DatetimeIndex:
    """The days with a table: every ``rebalance_days``-th day from the first full window
    to ``last`` (a training start and its steps fall on them)."""  # noqa: D205, D209
    end = int(prices.index.searchsorted(pd.Timestamp(last), side="right"))
    return prices.index[config.window : end : config.rebalance_days]


def steering_for(
    prices: pd.DataFrame,
    name: str,
    strategy_params: dict[str, dict[str, Any]],
    config: BacktestConfig,
    last: str,
    progress: Callable[[int, int], None] | None = None,
    days: pd.DatetimeIndex | None = None,
    mandate: Mandate | None = None,
    workers: int = 1,
    address: str | None = None,
) -> Steering:
    """The baseline ``name``'s solver and its tables on `table_days` up to ``last``.

    Parameters
    ----------
    prices : DataFrame of shape (n_dates, n_assets)
        Validated prices (a last ``cash`` column is left out: the baseline holds risky
        assets; the exposure is the policy's).
    name : str
        A steerable baseline (`portfolio_rl.baselines.steering.STEERABLE`).
    strategy_params : dict
        The experiment's parameters per baseline.
    config : BacktestConfig
        Its window, rebalancing and costs.
    last : str
        The last day training reads (the latest ``train_end``).
    progress : callable, optional
        ``progress(done, total)`` while the tables are computed.
    days : DatetimeIndex, optional
        The days to tabulate instead (a run's training and validation decisions).
    mandate : Mandate, optional
        The run's limits (its weight bounds enter the baseline, `steered_params`).
    workers, address
        Blocks of days (``tables.BLOCK``, each with a model of its own) computed in
        ``workers`` processes or as tasks on the Ray cluster at ``address``; the tables are
        the same.
    """
    if config.expanding:
        raise ConfigError("steer needs a rolling window (backtest.expanding: false)")
    params = steered_params(name, strategy_params, config, mandate)
    try:
        model = SteeredModel(name, params)
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None
    risky = prices.drop(columns=[CASH]) if prices.columns[-1] == CASH else prices
    days = table_days(risky, config, last) if days is None else days
    ready = [
        d for d, t in zip(days, risky.index.get_indexer(days), strict=True) if t >= config.window
    ]
    blocks = [ready[k : k + BLOCK] for k in range(0, len(ready), BLOCK)]
    parts = map_tasks(
        _frontiers,
        [(risky, name, params, config.window, block) for block in blocks],
        workers,
        address,
        None if progress is None else lambda k, _: progress(min(k * BLOCK, len(ready)), len(ready)),
        what=f"the frontier tables of {name}",
    )
    tables = {day: table for part in parts for day, table in part.items()}
    return Steering(name, params, config.window, model, tables, SHRINK_NODES)


def _frontiers(
    risky: pd.DataFrame, name: str, params: dict[str, Any], window: int, days: list[pd.Timestamp]
) -> dict[pd.Timestamp, Any]:
    """One block of frontier tables: each day's, from the window of returns ending there (a
    day whose covariance cannot be factored has none: training does not start on it)."""  # noqa: D205, D209
    model = SteeredModel(name, params)
    values = risky.to_numpy(dtype=float)
    tables = {}
    for day, t in zip(days, risky.index.get_indexer(days), strict=True):
        x = simple_returns(values[t - window : t + 1])[1:]
        try:
            tables[day] = model.frontier(x)
        except np.linalg.LinAlgError:
            continue
    return tables


def _folds(strategy: Any) -> list[Any]:
    return [p for _, p in strategy.folds] if hasattr(strategy, "folds") else [strategy]


def attach_steering(strategies: Sequence[Any]) -> None:
    """Give every steered policy (or walk-forward fold) the solver of its baseline."""
    for strategy in strategies:
        for policy in _folds(strategy):
            steer = getattr(policy, "meta", {}).get("steer")
            if steer and getattr(policy, "solver", None) is None:
                policy.solver = SteeredModel(steer["name"], steer["params"])


def chosen_parameters(strategies: Sequence[Any]) -> dict[str, pd.DataFrame]:
    """Strategy -> the parameters its steered policy chose at each decision (by date)."""
    out = {}
    for strategy in strategies:
        rows = [row for policy in _folds(strategy) for row in getattr(policy, "chosen", [])]
        if rows:
            out[strategy.name] = pd.DataFrame(rows).set_index("date").sort_index()
    return out


def write_chosen(folder: Path, strategies: Sequence[Any]) -> None:
    """``steering/<policy>.csv`` of a run folder: each steered policy's chosen parameters."""
    for name, frame in chosen_parameters(strategies).items():
        path = child_path(folder / "steering", name, ".csv", what="strategy")
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp, f=frame: f.rename_axis("date").to_csv(tmp))


class EnvSteering:
    """A steered policy's action transform for the gymnasium env (``steer=``).

    See [`PortfolioEnv`][portfolio_rl.envs.portfolio_env.PortfolioEnv].

    The env's action is the policy's latent vector; its weights are the policy's baseline
    solved exactly on the window ending at the decision with the held weights (what the
    backtest decides), and ``info["steer_features"]`` what the policy sees of its optimizer.

    Parameters
    ----------
    policy : SteeredPolicy
        The policy (`portfolio_rl.agents.checkpoint.load_policy` of a steered run).
    meta : dict
        Its ``policy.json`` (the baseline and its parameters).
    """

    def __init__(self, policy: Any, meta: dict[str, Any]) -> None:
        self.policy, self.model = (
            policy,
            SteeredModel(meta["steer"]["name"], meta["steer"]["params"]),
        )
        self.width = len(policy.names)
        self.cash = bool(meta.get("cash", False))

    def features(self, window: np.ndarray) -> np.ndarray:
        """The optimizer features of the window's last close."""
        return decision_features(self.model, window)

    def weights(self, window: np.ndarray, action: np.ndarray, held: np.ndarray) -> np.ndarray:
        """The portfolio of ``action``; a failed solve keeps the held weights."""
        import torch

        w = steered_decision(self.policy, torch.as_tensor(action), self.model, window, held)
        if w is not None:
            return w
        return held / held.sum() if held.sum() > 0 else np.full(len(held), 1.0 / len(held))
