"""The algorithm registry: ``name -> training module``, imported only when it trains.

Every module named here has ``train_<module>(config, prices, folder, resume=False,
progress=None, anchor=None, steering=None) -> TrainResult`` (``grpo.train_grpo``, ...), an
internal name: the one public entry is `train`, which picks it by ``config.algo``. Adding an
algorithm is one module and one line here; the configs, the command line, the checkpoints and
the report read this registry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Literal

ALGORITHMS: dict[str, str] = {
    "grpo": "portfolio_rl.agents.grpo",
    "ppo": "portfolio_rl.agents.ppo",
    "reinforce": "portfolio_rl.agents.reinforce",
    "robust_grpo": "portfolio_rl.agents.grpo",  # GRPO over uncertainty sets (agents.scenarios)
}
#: The algorithm names as a type: what a config's ``algo`` accepts (a test keeps it equal to
#: the registry's keys).
Algorithm = Literal["grpo", "ppo", "reinforce", "robust_grpo"]
#: The method this project is about; the others are baselines.
METHOD = "grpo"
#: GRPO over uncertainty sets of market scenarios ([`portfolio_rl.agents.scenarios`][]).
ROBUST_METHOD = "robust_grpo"
#: What an experiment trains unless it names its algorithms: robust GRPO costs S times a
#: GRPO run (S scenarios per start), so it is asked for by name (``rl.algos``).
DEFAULT_ALGOS = ("grpo", "ppo", "reinforce")


def train(
    config: Any,
    prices: Any,
    folder: Any,
    resume: bool = False,
    progress: Any = None,
    anchor: Any = None,
    steering: Any = None,
) -> Any:
    """Train ``config.algo`` on ``prices``; the policy chosen on validation lands in ``folder``.

    Parameters
    ----------
    config : TrainConfig
    prices : DataFrame of shape (n_dates, n_assets)
        Validated prices ([`load_prices`][portfolio_rl.data.sources.load_prices]); rows after
        ``config.val_end`` are never read.
    folder : str or Path
        The run folder: ``policy.pt`` + ``policy.json`` (what ``backtest --policy`` loads),
        ``train_log.csv``, ``config.json`` and the resumable ``last.pt``.
    resume : bool
        Continue from ``folder/last.pt``; the result equals an uninterrupted run.
    progress : callable, optional
        ``progress(done, total, figures)`` after each iteration.
    anchor : Anchor, optional
        An anchored config's anchor weights (``portfolio_rl.backtest.anchors.anchor_table``).
    steering : Steering, optional
        A steered config's baseline (``portfolio_rl.backtest.steering.steering_for``).

    Returns
    -------
    TrainResult

    Examples
    --------
    >>> import tempfile
    >>> from portfolio_rl.agents import TrainConfig, train
    >>> from portfolio_rl.data import load_prices
    >>> prices = load_prices("sp500", start="2008-01-01", end="2014-12-31")
    >>> config = TrainConfig(iterations=2, batch_starts=4, group_size=4, eval_every=1)
    >>> result = train(config, prices, tempfile.mkdtemp())
    >>> result.iterations_run, result.stopped
    (2, 'iterations')
    """
    from pathlib import Path

    run = trainer(config.algo)
    return run(
        config,
        prices,
        Path(folder),
        resume=resume,
        progress=progress,
        anchor=anchor,
        steering=steering,
    )


def trainer(algo: str) -> Callable[..., Any]:
    """The training function of an algorithm (``train_<module>`` of its module)."""
    if algo not in ALGORITHMS:
        raise KeyError(f"unknown algorithm {algo!r}; choose from {', '.join(ALGORITHMS)}")
    module = ALGORITHMS[algo]
    return getattr(importlib.import_module(module), f"train_{module.rsplit('.', 1)[1]}")
