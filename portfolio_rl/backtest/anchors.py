"""Anchor weights: a baseline's portfolio on every trading day, for an anchored policy.

The weights of day t are the baseline's decision on the window of returns that ends at the
close of t (the engine's [`decision_window`][portfolio_rl.backtest.engine.decision_window]),
so changing a later price cannot change them. They are computed once per data set, baseline,
parameters and window, and cached on disk under a key made of all four, so training,
validation, the backtest, ``allocate`` and the gymnasium env read the same numbers.

How the table differs from the baseline's own backtest: the table decides every day with
no previous weights, so a baseline with a cost or turnover term against the held weights
(``uses_costs``) has no such term in the table (its backtest has one), and a failed solve
keeps the previous day's weights. The run shows both: the baseline under its own name, and
the table as ``anchor_<name>`` (what an anchored policy decides before any update).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from portfolio_rl.agents.anchor import Anchor, start_weights
from portfolio_rl.backtest.engine import BacktestConfig
from portfolio_rl.backtest.runner import build_baselines
from portfolio_rl.backtest.tables import baseline_tables
from portfolio_rl.conventions.mandate import Limits, Mandate, project
from portfolio_rl.conventions.market import CASH, PERIODS, simple_returns
from portfolio_rl.conventions.measures import sharpe
from portfolio_rl.plumbing.files import atomic_write, cache_dir

#: Bumped when the way tables are computed changes, so old cache files are not read.
VERSION = 2


def table_key(
    prices: pd.DataFrame,
    name: str,
    params: dict[str, Any],
    window: int,
    days: pd.DatetimeIndex | None = None,
    mandate: Mandate | None = None,
) -> str:
    """A key that changes when the prices, the baseline, its parameters, the window, the
    days computed or the mandate do."""  # noqa: D205, D209
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(prices.to_numpy(dtype=np.float64)).tobytes())
    digest.update(np.asarray(prices.index.asi8).tobytes())
    if days is not None:
        digest.update(np.asarray(days.asi8).tobytes())
    spec = [list(map(str, prices.columns)), name, params, window, VERSION]
    if mandate is not None and mandate.binding:
        spec.append(mandate.to_dict())
    digest.update(json.dumps(spec, sort_keys=True, default=str).encode())
    return f"{name}-{digest.hexdigest()[:24]}"


def anchor_table(
    prices: pd.DataFrame,
    name: str,
    params: dict[str, Any] | None = None,
    window: int = PERIODS,
    cache: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    days: pd.DatetimeIndex | None = None,
    mandate: Mandate | None = None,
    workers: int = 1,
    address: str | None = None,
) -> Anchor:
    """The baseline ``name``'s weights decided at each close from the window ending there.

    Parameters
    ----------
    prices : DataFrame of shape (n_dates, n_assets)
        Validated prices; a last ``cash`` column makes cash an asset (a baseline that does
        not hold cash gets a cash weight of 0).
    name : str
        A registered baseline.
    params : dict, optional
        Its parameters (an experiment's ``strategy_params[name]``).
    window : int
        Daily returns each decision sees (the backtest's window).
    cache : Path, optional
        Folder of cached tables (default: the download cache's ``anchors/``).
    progress : callable, optional
        ``progress(done, total)`` while a table is computed.
    days : DatetimeIndex, optional
        Only these closes (the days a run reads; the others are NaN): a walk-forward run
        reads every ``rebalance_days``-th training day, its validation and its test
        decisions, a twentieth of every day.
    mandate : Mandate, optional
        The run's limits: the baseline solves with them, as in its backtest.
    workers, address
        Blocks of days computed in ``workers`` processes or as tasks on the Ray cluster at
        ``address``; the table is the same.

    Returns
    -------
    Anchor
        Its ``weights`` have the prices' index and columns; rows before the first full
        window are equal weights in the risky assets.
    """
    wanted = {name: dict(params or {})}
    return anchor_tables(prices, wanted, window, cache, progress, days, mandate, workers, address)[
        name
    ]


def anchor_tables(
    prices: pd.DataFrame,
    baselines: dict[str, dict[str, Any]],
    window: int = PERIODS,
    cache: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    days: pd.DatetimeIndex | None = None,
    mandate: Mandate | None = None,
    workers: int = 1,
    address: str | None = None,
) -> dict[str, Anchor]:
    """`anchor_table` of several baselines (name -> parameters): the blocks of every table
    not cached yet are computed together, so that the processes stay busy to the end."""  # noqa: D205, D209
    folder = (cache or cache_dir()) / "anchors"
    recorded = mandate.to_dict() if mandate is not None and mandate.binding else {}
    out, paths = {}, {}
    for name, params in baselines.items():
        paths[name] = folder / f"{table_key(prices, name, params, window, days, mandate)}.parquet"
        cached = _read_table(paths[name])
        if cached is not None and valid_table(cached, prices, days):
            cached.columns = prices.columns
            out[name] = Anchor(name, params, window, cached.set_index(prices.index), recorded)
    missing = {n: p for n, p in baselines.items() if n not in out}
    computed = (
        baseline_tables(prices, missing, window, progress, days, mandate, workers, address)
        if missing
        else {}
    )
    for name, weights in computed.items():
        folder.mkdir(parents=True, exist_ok=True)
        _write_table(paths[name], weights)
        out[name] = Anchor(name, missing[name], window, weights, recorded)
    return {name: out[name] for name in baselines}


def _checksum(frame: pd.DataFrame) -> str:
    return hashlib.sha256(np.ascontiguousarray(frame.to_numpy(dtype=np.float64))).hexdigest()


def _write_table(path: Path, weights: pd.DataFrame) -> None:
    """Cache a table atomically with the sha256 of its values in the file's metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = weights.copy()
    frame.columns = list(map(str, frame.columns))
    table = pa.Table.from_pandas(frame)
    meta = dict(table.schema.metadata or {}) | {b"portfolio_rl_sha256": _checksum(frame).encode()}
    table = table.replace_schema_metadata(meta)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def _read_table(path: Path) -> pd.DataFrame | None:
    """A cached table whose values match their checksum; None if absent, damaged or edited."""
    import pyarrow.parquet as pq

    if not path.is_file():
        return None
    try:
        table = pq.read_table(path)
        digest = (table.schema.metadata or {}).get(b"portfolio_rl_sha256", b"").decode()
        frame = table.to_pandas()
        return frame if digest == _checksum(frame) else None
    except Exception:  # a damaged or foreign file is computed again, never served
        return None


def valid_table(
    weights: pd.DataFrame, prices: pd.DataFrame, days: pd.DatetimeIndex | None = None
) -> bool:
    """Whether a cached table can be served: the prices' assets and length, a row on every
    day of its key (``days``, else every day), and on every row that was computed (a table
    of some days leaves the others all NaN) finite, non-negative weights that sum to one; a
    table with a partly NaN or a negative row, from an edit or a damaged write, is computed
    again."""  # noqa: D205, D209
    if list(weights.columns) != list(map(str, prices.columns)) or len(weights) != len(prices):
        return False
    values = weights.to_numpy(dtype=float)
    done = ~np.isnan(values).all(axis=1)
    wanted = np.ones(len(prices), bool) if days is None else prices.index.isin(days)
    values = values[done]
    return bool(
        len(values)
        and done[wanted].all()
        and np.isfinite(values).all()
        and (values >= 0).all()
        and np.allclose(values.sum(axis=1), 1.0, atol=1e-6)
    )


def choose_anchor(
    prices: pd.DataFrame,
    candidates: Sequence[str],
    params: dict[str, dict[str, Any]],
    config: BacktestConfig,
    val_start: str,
    val_end: str,
) -> tuple[str, dict[str, float]]:
    """``auto``: the baseline with the best validation Sharpe ratio from ``val_start`` on.

    Each candidate walks forward from ``val_start`` to ``val_end`` on the prices up to
    ``val_end`` only (nothing later is read), with the backtest's window, rebalancing and
    costs; the score is the annualised Sharpe ratio in excess of cash (the cash column's
    return, 0 without one), the measure the test scores. A walk-forward run passes the same
    ``val_start`` to every fold, so each fold chooses on all the validation years before it.

    Returns
    -------
    name : str
    scores : dict
        Every candidate's score.
    """
    return choose_anchors(prices, candidates, params, config, val_start, [val_end])[0]


def choose_anchors(
    prices: pd.DataFrame,
    candidates: Sequence[str],
    params: dict[str, dict[str, Any]],
    config: BacktestConfig,
    val_start: str,
    val_ends: Sequence[str],
    mandate: Mandate | None = None,
    workers: int = 1,
    address: str | None = None,
) -> list[tuple[str, dict[str, float]]]:
    """`choose_anchor` for several validation ends from one start, in one walk forward.

    The candidates walk forward once, to the last end; each end's scores are those of the
    returns up to it, which are the returns of a walk forward that stopped there (a decision
    reads no later price; the one difference: where a rebalance falls on an end itself, its
    cost is in that day's return), so a fold sees nothing after its own ``val_end``. The
    candidates walk in ``workers`` processes or on the Ray cluster at ``address``, each
    alone, so the scores do not change.
    """
    from portfolio_rl.backtest.parallel import run_backtest_in_processes

    last = max(pd.Timestamp(v) for v in val_ends)
    seen = prices.loc[:last]
    cash = prices.columns[-1] == CASH
    bt = BacktestConfig(
        start=val_start,
        end=str(last.date()),
        window=config.window,
        expanding=config.expanding,
        rebalance_days=config.rebalance_days,
        cost_bps=config.cost_bps,
        impact_bps=config.impact_bps,
    )
    strategies = build_baselines(list(candidates), params, bt, cash=cash)
    returns = run_backtest_in_processes(
        seen, strategies, [], bt, workers=workers, mandate=mandate, address=address
    ).returns
    rf = pd.Series(0.0, index=returns.index)
    if cash:
        rf = pd.Series(simple_returns(seen[[CASH]].to_numpy())[:, 0], index=seen.index)
    out = []
    for end in val_ends:
        part = returns.loc[: pd.Timestamp(end)]
        excess = rf.reindex(part.index).to_numpy()
        scores = {c: sharpe(part[c].to_numpy(), excess) for c in part.columns}
        out.append((max(scores, key=scores.__getitem__), scores))
    return out


class AnchorStrategy:
    """An anchor's table as a strategy: what an anchored policy decides before any update
    (``anchor_<name>`` in a run): the table's weights of the decision date with the policy's
    share of 1/N and exposure cap ([`portfolio_rl.agents.anchor.start_weights`][])."""  # noqa: D205, D209

    def __init__(self, name: str, anchor: Anchor) -> None:
        self.name, self.anchor = name, anchor
        self.uses_cash = anchor.weights.columns[-1] == CASH
        self.meta = {"baseline": anchor.describe()}
        self.limits: Limits | None = None

    def decide(self, prices: pd.DataFrame, prev_weights: np.ndarray) -> np.ndarray:
        """The untrained policy's weights of the last date of ``prices``, in its columns."""
        row = self.anchor.weights.loc[prices.index[-1], list(prices.columns)].to_numpy(float)
        if np.isnan(row).any():  # a table of other days: the engine records the failure
            raise ValueError(f"the table has no weights for {prices.index[-1].date()}")
        return project(start_weights(row, self.uses_cash), self.limits)

    def constrain(self, limits: Limits) -> None:
        """A mandate's limits, as the anchored policy's action transform applies them."""
        self.limits = limits


def attach_anchors(
    strategies: Sequence[Any],
    prices: pd.DataFrame,
    cache: Path | None = None,
    last_only: bool = False,
) -> None:
    """Give every anchored policy (or walk-forward fold) its anchor's table on ``prices``.

    The table of the baseline, parameters and window its ``policy.json`` records, computed
    (or read from the cache) on the policy's own assets of ``prices``; one table per anchor.
    ``last_only``: only the last day's weights (``allocate``), from the last window alone.
    """
    from portfolio_rl.agents.checkpoint import FoldedPolicy

    tables: dict[str, Anchor] = {}
    for strategy in strategies:
        folds = [p for _, p in strategy.folds] if isinstance(strategy, FoldedPolicy) else [strategy]
        for policy in folds:
            info = getattr(policy, "meta", {}).get("anchor")
            if not info or policy.anchor is not None:
                continue
            assets = list(policy.meta["assets"])
            key = json.dumps([info, assets], sort_keys=True, default=str)
            if key not in tables:
                window = int(info["window"])
                seen = prices[assets].iloc[-(window + 1) :] if last_only else prices[assets]
                mandate = Mandate(**info["mandate"]) if info.get("mandate") else None
                tables[key] = anchor_table(
                    seen, info["name"], info["params"], window, cache, mandate=mandate
                )
            policy.anchor = tables[key]
