"""Training configuration shared by GRPO, PPO and REINFORCE (one frozen dataclass)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from portfolio_rl.agents.registry import ALGORITHMS
from portfolio_rl.conventions.measures import RISK_MEASURES
from portfolio_rl.conventions.rewards import REWARD_PARAMS, check_weights
from portfolio_rl.plumbing.typed import check_seed, parse_date

#: Distributions of :class:`portfolio_rl.agents.policy.SimplexPolicy`.
DISTRIBUTIONS = ("logistic_normal", "dirichlet")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs; saved as JSON beside its checkpoints.

    Attributes
    ----------
    algo : str
        A name of :data:`portfolio_rl.agents.registry.ALGORITHMS` (``grpo``,
        ``robust_grpo``, ``ppo``, ``reinforce``). The robust settings below are read by
        ``robust_grpo`` only.
    prices : str
        Price source (bundled name or file) when no frame is passed to ``train``.
    data_start : str
        First price date loaded (features need 252 days before the first start).
    train_end, val_end : str
        Training starts and their trajectories stay on or before ``train_end``; validation
        runs from the day after it to ``val_end``. Nothing later is read.
    seed : int
        Seeds numpy and torch; one seed gives a bit-identical run on the same machine.
    device : {"auto", "cpu", "cuda"}
    iterations : int
        Policy-update iterations (each samples a fresh batch).
    batch_starts : int
        B: start states per iteration.
    group_size : int
        G: trajectories per start (GRPO); PPO and REINFORCE sample B*G starts instead.
    steps : int
        K: rebalancing actions per trajectory.
    rebalance_days : int
        h: trading days between actions.
    cost_bps : float
        The cost model's rate, as in the backtest.
    cash : bool
        Cash is an asset (the prices end with a ``cash`` column earning the risk-free rate);
        the policy gets an exposure head (:class:`portfolio_rl.agents.policy.SimplexPolicy`).
    path : {"historical", "bootstrap"}
        Group members share the realised future, or one stationary-bootstrap draw per start.
    block_length : float
        Mean block length of the bootstrap.
    rewards : dict
        Weights of the reward functions of :data:`portfolio_rl.rewards.REWARDS`
        (``log_growth``, ``sharpe``, ``drawdown_penalty``, ``turnover_penalty``,
        ``variance_penalty``, ``differential_sharpe``); the reward is their weighted sum.
    reward_params : dict
        Parameters of the parametrised rewards: ``risk_aversion`` (``certainty_equivalent``,
        CRRA; default 5), ``cvar_alpha`` and ``cvar_lambda`` (``cvar_penalty``; 0.05, 1).
    reward_aggregation : {"auto", "sum_then_normalize", "normalize_then_sum"}
        With several rewards, normalise their weighted sum within the group, or normalise
        each reward within the group and sum the weighted advantages (TRL's multi-objective
        aggregation, so the largest-scale reward does not win by its units); ``auto`` is the
        latter when more than one reward has a weight.
    importance_sampling_level : {"step", "sequence"}
        The ratio of each action (DeepSeekMath), or one ratio per trajectory, the geometric
        mean of its steps' ratios (GSPO, Zheng et al. 2025), which suits a reward that
        scores the whole trajectory.
    process_supervision : bool
        GRPO: per-step rewards (step log growth minus the turnover penalty) normalised over
        the group; the advantage of step t sums the normalised rewards from t on.
    scale_rewards : {"group", "batch", "none"}
        Divide by the group std, the batch std, or nothing (Dr. GRPO).
    std_floor : float
        Floor on the std that divides advantages.
    dynamic_sampling : bool
        Drop groups whose rewards have zero spread (DAPO).
    epsilon_low, epsilon_high : float
        Clip range ``[1 - epsilon_low, 1 + epsilon_high]`` of the ratio.
    beta : float
        KL coefficient against the reference policy.
    kl_estimator : {"k3", "exact"}
    loss_aggregation : {"trajectory", "step"}
        Mean over each trajectory's steps then over trajectories (GRPO), or over all steps.
    mu : int
        Gradient steps on each sampled batch.
    ref_update_every : int
        Reset the reference policy to the current one every N iterations (0: never).
    lr, lr_schedule, max_grad_norm
        Adam learning rate, ``constant | linear | cosine`` decay, gradient clipping.
    hidden, distribution, init_log_std
        Policy architecture (:class:`portfolio_rl.agents.policy.SimplexPolicy`).
    eval_every, patience
        Validation every N iterations (and once before any update: the initial policy is a
        candidate too); stop after ``patience`` evaluations without gain.
    val_objective : {"auto", "log_growth", "sharpe", "robust"}
        What selects the policy on validation: annualised net log growth (which cash cannot
        game), the Sharpe ratio in excess of cash, or ``robust``: the training risk measure
        (``robust_measure``) over the log growth of the validation range's consecutive
        K*h-day windows, annualised. ``auto`` (default): ``robust`` for ``robust_grpo``, so
        selection does not undo what it trained for, ``log_growth`` otherwise.
    val_aggregate : {"path", "median_year", "worst_year"}
        The objective over the whole validation path (default), or over each calendar
        year of it (a part-year shorter than half a year joining its neighbour) and then the
        median or the worst year: a policy must do well in most years, or in every one, not
        on the path's total. With one validation year they are the path's score.
    max_kl : float
        A KL above this (or a NaN) stops training as diverged.
    gamma, gae_lambda, vf_coef
        PPO only: discount, GAE lambda, value-loss weight.
    checkpoint_every : int
        Save the resumable state every N iterations.
    scenarios : int
        Robust GRPO: S market scenarios per start (:mod:`portfolio_rl.agents.scenarios`);
        each member plays the policy on all of them with independent noise.
    uncertainty : {"bootstrap", "drift_ellipsoid"}
        Robust GRPO: stationary-bootstrap draws from the history before the start, or the
        group's path with its drift on the robust mean-variance ellipsoid's boundary.
    include_base_path : bool
        Robust GRPO: scenario 0 is the group's own path (realised or bootstrap).
    robust_measure : {"mean", "worst", "cvar", "mean_std", "entropic"}
        Robust GRPO: the risk measure over a bundle's S outcomes
        (:func:`portfolio_rl.measures.risk_value`); S = 1 with ``mean`` is plain GRPO.
    robust_param : float, optional
        Its parameter: ``cvar`` alpha (default 0.25), ``mean_std`` kappa (1), ``entropic``
        eta (10).
    ellipsoid_confidence, uncertainty_window
        Robust GRPO, ``drift_ellipsoid``: the chi-square confidence of the radius, and the
        daily returns up to the start that estimate ``Sigma`` (the backtest's window).
    init_policy : str, optional
        A ``policy.pt`` to start from instead of the untrained policy (walk-forward folds
        start from the previous fold's policy); loaded with ``weights_only=True``.
    """

    algo: str = "grpo"
    prices: str = "sp500"
    data_start: str = "2000-01-01"
    train_end: str = "2012-12-31"
    val_end: str = "2014-12-31"
    seed: int = 0
    device: str = "auto"
    iterations: int = 60
    batch_starts: int = 16
    group_size: int = 16
    steps: int = 6
    rebalance_days: int = 21
    cost_bps: float = 10.0
    cash: bool = False
    path: str = "historical"
    block_length: float = 20.0
    rewards: dict[str, float] = field(default_factory=lambda: {"log_growth": 1.0})
    reward_params: dict[str, float] = field(default_factory=dict)
    reward_aggregation: str = "auto"
    importance_sampling_level: str = "step"
    process_supervision: bool = False
    scale_rewards: str = "group"
    std_floor: float = 1e-4
    dynamic_sampling: bool = False
    epsilon_low: float = 0.2
    epsilon_high: float = 0.28
    beta: float = 0.04
    kl_estimator: str = "k3"
    loss_aggregation: str = "trajectory"
    mu: int = 2
    ref_update_every: int = 20
    lr: float = 3e-3
    lr_schedule: str = "cosine"
    max_grad_norm: float = 1.0
    hidden: int = 32
    distribution: str = "logistic_normal"
    init_log_std: float = -0.5
    eval_every: int = 5
    patience: int = 6
    val_objective: str = "auto"
    val_aggregate: str = "path"
    max_kl: float = 50.0
    gamma: float = 0.99
    gae_lambda: float = 0.95
    vf_coef: float = 0.5
    checkpoint_every: int = 10
    scenarios: int = 8
    uncertainty: str = "bootstrap"
    include_base_path: bool = True
    robust_measure: str = "cvar"
    robust_param: float | None = None
    ellipsoid_confidence: float = 0.95
    uncertainty_window: int = 252
    init_policy: str | None = None

    def __post_init__(self) -> None:
        choices = {
            "algo": tuple(ALGORITHMS),
            "device": ("auto", "cpu", "cuda"),
            "path": ("historical", "bootstrap"),
            "scale_rewards": ("group", "batch", "none"),
            "kl_estimator": ("k3", "exact"),
            "loss_aggregation": ("trajectory", "step"),
            "lr_schedule": ("constant", "linear", "cosine"),
            "distribution": DISTRIBUTIONS,
            "val_objective": ("auto", "log_growth", "sharpe", "robust"),
            "val_aggregate": ("path", "median_year", "worst_year"),
            "reward_aggregation": ("auto", "sum_then_normalize", "normalize_then_sum"),
            "importance_sampling_level": ("step", "sequence"),
            "uncertainty": ("bootstrap", "drift_ellipsoid"),
            "robust_measure": tuple(RISK_MEASURES),
        }
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise ValueError(
                    f"{key} must be one of {list(allowed)}, got {getattr(self, key)!r}"
                )
        positive = (
            "iterations",
            "batch_starts",
            "steps",
            "rebalance_days",
            "mu",
            "hidden",
            "eval_every",
            "patience",
            "checkpoint_every",
        )
        for key in positive:
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1")
        if self.group_size < 2:
            raise ValueError("group_size must be at least 2 (a group needs a spread)")
        check_weights(self.rewards)
        unknown = sorted(set(self.reward_params) - set(REWARD_PARAMS))
        if unknown:
            raise ValueError(f"unknown reward_params {unknown}; known: {list(REWARD_PARAMS)}")
        for key, value in self.reward_params.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"reward_params.{key} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"reward_params.{key} must be finite")
        for key, value in asdict(self).items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{key} must be a finite number, got {value}")
        if min(self.epsilon_low, self.epsilon_high, self.beta, self.lr, self.std_floor) < 0:
            raise ValueError("epsilons, beta, lr and std_floor must be non-negative")
        parse_date(self.data_start, "data_start")
        if parse_date(self.train_end, "train_end") >= parse_date(self.val_end, "val_end"):
            raise ValueError("train_end must be before val_end")
        check_seed(self.seed)
        self._check_robust()

    def _check_robust(self) -> None:
        if not 1 <= self.scenarios <= 256:
            raise ValueError("scenarios must lie in 1..256")
        if not 0 < self.ellipsoid_confidence < 1 or self.uncertainty_window < 20:
            raise ValueError("need 0 < ellipsoid_confidence < 1 and uncertainty_window >= 20")
        p = self.robust_param
        if p is not None:
            if isinstance(p, bool) or not isinstance(p, int | float) or not math.isfinite(p):
                raise ValueError(f"robust_param must be a finite number, got {p!r}")
            ok = {"cvar": 0 < p <= 1, "mean_std": p >= 0, "entropic": p > 0}
            if not ok.get(self.robust_measure, True):
                raise ValueError(
                    f"robust_param {p} is out of range for {self.robust_measure} "
                    "(cvar: 0 < alpha <= 1; mean_std: kappa >= 0; entropic: eta > 0)"
                )
        if self.algo == "robust_grpo" and self.process_supervision and self.scenarios > 1:
            raise ValueError(
                "process_supervision needs one scenario: a risk measure over a bundle scores "
                "the whole bundle, not its steps"
            )

    @property
    def objective(self) -> str:
        """The validation objective, ``auto`` resolved."""
        if self.val_objective != "auto":
            return self.val_objective
        return "robust" if self.algo == "robust_grpo" else "log_growth"

    @property
    def objective_label(self) -> str:
        """The validation objective in words, e.g. ``log growth, worst year``."""
        return objective_label(self.objective, self.val_aggregate)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return asdict(self)


def objective_label(objective: str, aggregate: str = "path") -> str:
    """A validation objective and its aggregation in words, e.g. ``log growth, worst year``
    (also for the report, which reads them from ``summary.json``)."""  # noqa: D205, D209
    label = objective.replace("_", " ")
    return label if aggregate == "path" else f"{label}, {aggregate.replace('_', ' ')}"
