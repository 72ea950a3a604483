"""Training configuration shared by GRPO, robust GRPO, PPO and REINFORCE (one frozen dataclass).

Each setting is declared once, below, with its help, its group and its bounds
([`portfolio_rl.plumbing.typed.setting`][]); ``portfolio-rl settings``, the docs' settings
table and the validation messages are generated from these declarations.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

from portfolio_rl.agents.registry import Algorithm
from portfolio_rl.conventions.mandate import Mandate
from portfolio_rl.conventions.measures import RiskMeasure
from portfolio_rl.conventions.rewards import REWARD_PARAMS, check_weights
from portfolio_rl.plumbing.typed import (
    MAX_SEED,
    check_seed,
    check_settings,
    from_mapping,
    parse_date,
    setting,
)

#: Distributions of [`portfolio_rl.agents.policy.SimplexPolicy`][].
Distribution = Literal["logistic_normal", "dirichlet"]
DISTRIBUTIONS: tuple[str, ...] = Distribution.__args__

#: The groups settings are listed under, in this order.
DATA, GRPO, POLICY, SCHEDULE, SELECTION = "data", "GRPO", "policy", "schedule", "selection"
PPO_ONLY, ROBUST_ONLY, RUN = "PPO only", "robust GRPO only", "run"
GROUPS = (DATA, GRPO, POLICY, SCHEDULE, SELECTION, PPO_ONLY, ROBUST_ONLY, RUN)


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs; saved as JSON beside its checkpoints.

    Every field's help is declared with it; ``portfolio-rl settings`` lists them by group.
    In an experiment file they go under ``rl.train`` (every algorithm) or
    ``rl.algo_train.<algo>`` (one algorithm); ``data_start``, ``train_end``, ``val_end``,
    ``rebalance_days``, ``cost_bps`` and ``cash`` come from the experiment.

    Examples
    --------
    >>> from portfolio_rl.agents import TrainConfig
    >>> cfg = TrainConfig(iterations=10, group_size=8)
    >>> cfg.objective_label
    'log growth'
    >>> TrainConfig(group_size=1)
    Traceback (most recent call last):
    ...
    ValueError: group_size must lie in 2..4096, got 1
    """

    # data
    algo: Algorithm = setting(
        "grpo",
        "grpo (the method), robust_grpo (GRPO scored over S market scenarios), ppo or "
        "reinforce (baselines under the same env, policy and sample budget).",
        DATA,
    )
    prices: str = setting(
        "sp500", "Price source (bundled name or file) when no frame is passed to train.", DATA
    )
    data_start: str = setting(
        "2000-01-01", "First price date loaded (features need 252 days before a start).", DATA
    )
    train_end: str = setting(
        "2012-12-31",
        "Training starts and their trajectories stay on or before this date.",
        DATA,
    )
    val_end: str = setting(
        "2014-12-31", "Validation runs from the day after train_end to this date.", DATA
    )
    val_after: str | None = setting(
        None,
        "Validate from the day after this date instead of train_end: an expanding window "
        "(walk-forward folds of anchored and steered policies all validate from their first "
        "fold's validation start; the years before train_end are also trained on).",
        DATA,
    )
    rebalance_days: int = setting(21, "h: trading days between actions.", DATA, minimum=1)
    cost_bps: float = setting(10.0, "The cost model's rate, as in the backtest.", DATA, minimum=0)
    cash: bool = setting(
        False,
        "Cash is an asset earning the risk-free rate; the policy gets an exposure head.",
        DATA,
    )
    constraints: dict[str, Any] = setting(
        {}, "A mandate's weight limits, which every action is projected onto.", DATA
    )
    path: Literal["continuation", "historical", "bootstrap"] = setting(
        "continuation",
        "The future a group shares: the start's realised future up to a random break (mean "
        "block_length days), then stationary-bootstrap blocks of the training range "
        "(continuation: what the start state predicts stays, the rest cannot be memorised); "
        "the whole realised future (historical); or one bootstrap draw (bootstrap).",
        DATA,
    )
    block_length: float = setting(
        20.0,
        "Mean block length (days) of the bootstrap (and of the realised first block).",
        DATA,
        minimum=1,
    )
    # GRPO
    batch_starts: int = setting(16, "B: start states per iteration.", GRPO, minimum=1, maximum=4096)
    group_size: int = setting(
        16,
        "G: trajectories per start, on the start's shared path (PPO and REINFORCE too).",
        GRPO,
        minimum=2,
        maximum=4096,
    )
    steps: int = setting(6, "K: rebalancing actions per trajectory.", GRPO, minimum=1, maximum=2520)
    rewards: dict[str, float] = setting(
        {"log_growth": 1.0},
        "Weights of the registered rewards (log_growth, sharpe, drawdown_penalty, "
        "turnover_penalty, variance_penalty, differential_sharpe, certainty_equivalent, "
        "cvar_penalty); the reward is their weighted sum.",
        GRPO,
    )
    reward_params: dict[str, float] = setting(
        {},
        "risk_aversion (certainty_equivalent, CRRA; 5), cvar_alpha and cvar_lambda "
        "(cvar_penalty; 0.05, 1).",
        GRPO,
    )
    reward_aggregation: Literal["auto", "sum_then_normalize", "normalize_then_sum"] = setting(
        "auto",
        "With several rewards: normalise their weighted sum within the group, or each reward "
        "and sum the advantages (TRL's multi-objective rule; auto: the latter with more than "
        "one reward).",
        GRPO,
    )
    importance_sampling_level: Literal["step", "sequence"] = setting(
        "step",
        "One ratio per action (DeepSeekMath), or per trajectory, the geometric mean of its "
        "steps' ratios (GSPO, Zheng et al. 2025).",
        GRPO,
    )
    process_supervision: bool = setting(
        False,
        "Per-step rewards normalised over the group; the advantage of step t sums them from t on.",
        GRPO,
    )
    scale_rewards: Literal["group", "batch", "none"] = setting(
        "group", "Divide advantages by the group std, the batch std, or nothing (Dr. GRPO).", GRPO
    )
    std_floor: float = setting(1e-4, "Floor on the std that divides advantages.", GRPO, minimum=0)
    dynamic_sampling: bool = setting(
        False, "Drop groups whose rewards have zero spread (DAPO).", GRPO
    )
    epsilon_low: float = setting(
        0.2, "Clip range [1 - epsilon_low, 1 + epsilon_high] of the ratio.", GRPO, minimum=0
    )
    epsilon_high: float = setting(0.28, "Upper clip (DAPO's clip-higher).", GRPO, minimum=0)
    beta: float = setting(0.04, "KL coefficient against the reference policy.", GRPO, minimum=0)
    kl_estimator: Literal["k3", "exact"] = setting(
        "k3", "Schulman's k3 estimator (DeepSeekMath) or the exact Gaussian KL.", GRPO
    )
    loss_aggregation: Literal["trajectory", "step"] = setting(
        "trajectory",
        "Mean over each trajectory's steps then over trajectories (GRPO), or over all steps.",
        GRPO,
    )
    mu: int = setting(2, "Gradient steps on each sampled batch.", GRPO, minimum=1, maximum=64)
    ref_update_every: int = setting(
        20,
        "Reset the reference policy to the current one every N iterations (0: never).",
        GRPO,
        minimum=0,
    )
    # policy
    hidden: int = setting(32, "Width of the per-asset encoder.", POLICY, minimum=1, maximum=4096)
    distribution: Distribution = setting(
        "logistic_normal", "Distribution of the weights on the simplex.", POLICY
    )
    init_log_std: float = setting(-0.5, "Initial log std of the score noise.", POLICY)
    anchor: str = setting(
        "none",
        "What the untrained policy decides: none (1/N, or 88% invested with cash), the name "
        "of a baseline (its weights on each decision day, from the window ending that day; "
        "the policy learns a tilt and an exposure around them), or auto (in each walk-forward "
        "fold, the baseline with the best Sharpe ratio over every validation year before it).",
        POLICY,
    )
    steer: str = setting(
        "none",
        "none, or the baseline whose parameters the policy chooses at each decision "
        "(robust_mv_ellipsoid: risk aversion, the ellipsoid's radius, covariance shrinkage; "
        "mean_variance; min_variance; with cash, the exposure too): the portfolio is that "
        "baseline solved with them, and the untrained policy is the baseline itself (GRPO only).",
        POLICY,
    )
    # schedule
    iterations: int = setting(
        400,
        "The most policy-update iterations (each samples a fresh batch); training stops "
        "earlier when validation has not improved for `patience` evaluations (0: the "
        "untrained policy, validated and saved).",
        SCHEDULE,
        minimum=0,
    )
    lr: float = setting(3e-3, "Adam learning rate.", SCHEDULE, minimum=0, maximum=10)
    lr_schedule: Literal["constant", "linear", "cosine"] = setting(
        "cosine", "Decay of the learning rate over the iterations.", SCHEDULE
    )
    max_grad_norm: float = setting(1.0, "Gradient clipping norm.", SCHEDULE, minimum=0)
    max_kl: float = setting(
        50.0, "A KL above this (or a NaN) stops training as diverged.", SCHEDULE, minimum=0
    )
    # selection
    eval_every: int = setting(
        5,
        "Validate every N iterations (and once before any update: the start is a candidate).",
        SELECTION,
        minimum=1,
    )
    patience: int = setting(
        20,
        "Stop after this many evaluations without a gain (the stopping rule; with eval_every "
        "5, 100 iterations).",
        SELECTION,
        minimum=1,
    )
    val_objective: Literal["auto", "log_growth", "sharpe", "robust"] = setting(
        "auto",
        "What selects the policy on validation: annualised net log growth (which cash cannot "
        "game), Sharpe in excess of cash, or robust (the training risk measure over the "
        "validation range's K*h-day windows); auto: robust for robust_grpo, sharpe (the test's "
        "measure) for an anchored or steered policy, else log_growth.",
        SELECTION,
    )
    val_aggregate: Literal["path", "median_year", "worst_year"] = setting(
        "path",
        "Score the whole validation path, or each calendar year of it (a part-year shorter "
        "than half a year joins its neighbour) and keep the median or the worst year.",
        SELECTION,
    )
    # PPO only
    gamma: float = setting(0.99, "Discount.", PPO_ONLY, minimum=0, maximum=1)
    gae_lambda: float = setting(0.95, "GAE lambda.", PPO_ONLY, minimum=0, maximum=1)
    vf_coef: float = setting(0.5, "Value-loss weight.", PPO_ONLY, minimum=0)
    # robust GRPO only
    scenarios: int = setting(
        8,
        "S: market scenarios per start; each member plays all of them.",
        ROBUST_ONLY,
        minimum=1,
        maximum=256,
    )
    uncertainty: Literal["bootstrap", "drift_ellipsoid"] = setting(
        "bootstrap",
        "Stationary-bootstrap draws from the history before the start, or the group's path "
        "with its drift on the robust mean-variance ellipsoid's boundary.",
        ROBUST_ONLY,
    )
    include_base_path: bool = setting(
        True, "Scenario 0 is the group's own path (realised or bootstrap).", ROBUST_ONLY
    )
    robust_measure: RiskMeasure = setting(
        "cvar",
        "The risk measure over a bundle's S outcomes; S = 1 with mean is plain GRPO.",
        ROBUST_ONLY,
    )
    robust_param: float | None = setting(
        None,
        "Its parameter: cvar alpha (default 0.25), mean_std kappa (1), entropic eta (10).",
        ROBUST_ONLY,
    )
    ellipsoid_confidence: float = setting(
        0.95,
        "drift_ellipsoid: the chi-square confidence of the radius.",
        ROBUST_ONLY,
        minimum=0.001,
        maximum=0.999,
    )
    uncertainty_window: int = setting(
        252,
        "drift_ellipsoid: daily returns up to the start that estimate Sigma.",
        ROBUST_ONLY,
        minimum=20,
    )
    # run
    seed: int = setting(
        0, "Seeds numpy and torch; one seed gives a bit-identical run.", RUN, maximum=MAX_SEED
    )
    device: Literal["auto", "cpu", "cuda"] = setting(
        "auto", "auto: CUDA when present, else the CPU.", RUN
    )
    checkpoint_every: int = setting(
        10, "Save the resumable state every N iterations.", RUN, minimum=1
    )
    init_policy: str | None = setting(
        None,
        "A policy.pt to start from instead of the untrained policy (walk-forward folds start "
        "from the previous fold's); loaded with weights_only=True.",
        RUN,
    )

    def __post_init__(self) -> None:
        check_seed(self.seed)
        check_settings(self)
        check_weights(self.rewards)
        unknown = sorted(set(self.reward_params) - set(REWARD_PARAMS))
        if unknown:
            raise ValueError(f"unknown reward_params {unknown}; known: {list(REWARD_PARAMS)}")
        for key, value in self.reward_params.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"reward_params.{key} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"reward_params.{key} must be finite")
        parse_date(self.data_start, "data_start")
        if parse_date(self.train_end, "train_end") >= parse_date(self.val_end, "val_end"):
            raise ValueError("train_end must be before val_end")
        if self.val_after is not None and parse_date(self.val_after, "val_after") > parse_date(
            self.train_end, "train_end"
        ):
            raise ValueError("val_after must be on or before train_end")
        from_mapping(Mandate, self.constraints, where="constraints")  # one line if wrong
        self._check_anchor()
        self._check_steer()
        self._check_robust()

    def _check_anchor(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", self.anchor):
            raise ValueError(f"anchor must be none, auto or a baseline's name, got {self.anchor!r}")
        if self.anchor == "none":
            return
        if self.distribution != "logistic_normal":
            raise ValueError("an anchored policy needs distribution: logistic_normal")
        if self.algo == "robust_grpo":
            raise ValueError(
                "robust_grpo does not take an anchor yet: its scenario bundles have no anchor "
                "weights (use grpo, ppo or reinforce, or anchor: none)"
            )

    def _check_steer(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,63}", self.steer):
            raise ValueError(f"steer must be none or a baseline's name, got {self.steer!r}")
        if self.steer == "none":
            return
        if self.algo != "grpo":
            raise ValueError(f"steer: only grpo steers a baseline (algo is {self.algo})")
        if self.anchor != "none":
            raise ValueError(
                "steer and anchor exclude each other: a steered policy's start "
                "is its baseline already"
            )

    @property
    def guided(self) -> bool:
        """Whether the policy starts from an optimizer (anchored or steered)."""
        return self.anchor != "none" or self.steer != "none"

    def _check_robust(self) -> None:
        p = self.robust_param
        if p is not None:
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
        if self.algo == "robust_grpo":
            return "robust"
        return "sharpe" if self.guided else "log_growth"

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
