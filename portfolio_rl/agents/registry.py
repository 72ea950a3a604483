"""The algorithm registry: ``name -> training module``, imported only when it trains.

Every module named here has ``train(config, prices, folder, resume=False, progress=None)
-> TrainResult``. Adding an algorithm is one module and one line here; the configs, the
command line, the checkpoints and the report read this registry.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

ALGORITHMS: dict[str, str] = {
    "grpo": "portfolio_rl.agents.grpo",
    "ppo": "portfolio_rl.agents.ppo",
    "reinforce": "portfolio_rl.agents.reinforce",
}
#: The method this project is about; the others are baselines.
METHOD = "grpo"


def trainer(algo: str) -> Callable[..., Any]:
    """The ``train`` function of an algorithm."""
    if algo not in ALGORITHMS:
        raise KeyError(f"unknown algorithm {algo!r}; choose from {', '.join(ALGORITHMS)}")
    return importlib.import_module(ALGORITHMS[algo]).train
