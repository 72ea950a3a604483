"""A mandate's limits reach every strategy, RL policies included, and the engine checks them."""

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from portfolio_rl.agents.checkpoint import PolicyStrategy, load_policy
from portfolio_rl.agents.config import TrainConfig
from portfolio_rl.agents.registry import trainer
from portfolio_rl.backtest.engine import BacktestConfig, run_backtest
from portfolio_rl.backtest.runner import build_baselines
from portfolio_rl.baselines import default_strategies
from portfolio_rl.cli import app
from portfolio_rl.conventions.mandate import Mandate
from portfolio_rl.conventions.market import add_cash_prices
from portfolio_rl.data.sources import load_prices
from portfolio_rl.envs.portfolio_env import PortfolioEnv


def _industries(cash: bool) -> pd.DataFrame:
    prices = load_prices("industries49", start="2012-01-01", end="2017-12-31")
    return add_cash_prices(prices, 0.02) if cash else prices


def test_every_baseline_holds_only_portfolios_inside_the_mandate():
    prices = _industries(cash=True)
    assets = list(prices.columns)
    mandate = Mandate(
        max_weight=0.1,
        min_cash=0.05,
        max_cash=0.5,
        groups={"first": {"assets": assets[:10], "max": 0.15}},
    )
    config = BacktestConfig(start="2016-01-01", rebalance_days=63)
    names = [n for n in default_strategies(cash=True) if n != "benchmark"]
    result = run_backtest(
        prices, build_baselines(names, config=config, cash=True), config, mandate=mandate
    )
    assert result.failures.empty, result.failures
    limits = mandate.limits(assets)
    for name, weights in result.weights.items():
        for row in weights.to_numpy():
            assert limits.violation(row) is None, name
        assert weights.iloc[:, :-1].to_numpy().max() <= 0.1 + 1e-9
        assert weights["cash"].min() >= 0.05 - 1e-9, name  # fully invested ones: the floor


class Concentrated:
    """A strategy that knows no mandate: everything in its first asset."""

    name = "concentrated"

    def decide(self, prices, prev):
        w = np.zeros(prices.shape[1])
        w[0] = 1.0
        return w


def test_a_strategy_outside_the_mandate_fails_and_keeps_a_feasible_portfolio(toy_prices):
    config = BacktestConfig(start=str(toy_prices.index[300].date()), rebalance_days=21)
    mandate = Mandate(max_weight=0.5)
    result = run_backtest(toy_prices, [Concentrated()], config, mandate=mandate)
    assert len(result.failures) == len(result.turnover)
    assert result.failures["status"].str.startswith("outside the mandate: A weight 1").all()
    assert result.weights["concentrated"].to_numpy().max() <= 0.5 + 1e-12


def test_the_default_mandate_changes_no_number(toy_prices):
    config = BacktestConfig(start=str(toy_prices.index[300].date()), rebalance_days=21)
    names = ["min_variance", "equal_weight", "risk_parity"]
    plain = run_backtest(toy_prices, build_baselines(names, config=config), config)
    bound = run_backtest(
        toy_prices, build_baselines(names, config=config), config, mandate=Mandate()
    )
    pd.testing.assert_frame_equal(plain.returns, bound.returns, check_exact=True)


@pytest.fixture(scope="module")
def sp500():
    return load_prices("sp500", start="2000-01-01", end="2018-12-31")


@pytest.fixture(scope="module")
def capped_policy(tmp_path_factory, sp500):
    """GRPO trained under a 10% cap with the default settings but a short budget."""
    folder = tmp_path_factory.mktemp("capped")
    config = TrainConfig(iterations=3, eval_every=1, constraints={"max_weight": 0.1})
    trainer("grpo")(config, sp500, folder)
    policy, meta = load_policy(folder)  # the last policy, not the chosen one: it has moved
    policy.load_state_dict(torch.load(folder / "last.pt", weights_only=True)["state"]["policy"])
    return policy, meta


def test_training_weights_are_projected_inside_the_action_transform(monkeypatch, sp500):
    from portfolio_rl.agents import rollout as rollout_module
    from portfolio_rl.agents.data import MarketData, sample_paths, sample_starts
    from portfolio_rl.agents.policy import SimplexPolicy
    from portfolio_rl.conventions.features import OBS_FEATURES

    config = TrainConfig(constraints={"max_weight": 0.1}, init_log_std=1.0)
    data = MarketData.build(sp500, config, torch.device("cpu"))
    seen = []
    simulate = rollout_module.simulate
    monkeypatch.setattr(
        rollout_module, "simulate", lambda w, *a, **k: seen.append(w) or simulate(w, *a, **k)
    )
    rng = np.random.default_rng(0)
    paths = sample_paths(data, config, sample_starts(data, 4, rng), rng)
    policy = SimplexPolicy(OBS_FEATURES, init_log_std=1.0)
    rollout_module.rollout(policy, paths, 8, 21, 10.0, limits=data.limits)
    assert seen[0].max() <= 0.1 + 1e-6 and torch.allclose(seen[0].sum(-1), torch.ones(1))
    rollout_module.rollout(policy, paths, 8, 21, 10.0)
    assert seen[1].max() > 0.1  # the same noise without the mandate leaves the cap


def test_a_policy_obeys_the_mandate_in_the_backtest_and_sees_no_future(capped_policy, sp500):
    policy, meta = capped_policy
    strategy = PolicyStrategy("grpo", policy, meta)
    mandate = Mandate(
        max_weight=0.1, groups={"two": {"assets": list(sp500.columns[:2]), "max": 0.12}}
    )
    d = pd.Timestamp("2016-06-30")
    changed = sp500.copy()
    later = changed.index > d
    changed.loc[later] *= np.random.default_rng(0).uniform(0.6, 1.6, size=(later.sum(), 20))
    config = BacktestConfig(start="2015-01-01", rebalance_days=21)
    runs = [
        run_backtest(
            p,
            [strategy, *build_baselines(["robust_mv_ellipsoid"], config=config)],
            config,
            mandate=mandate,
        )
        for p in (sp500, changed)
    ]
    limits = mandate.limits(list(sp500.columns))
    for run in runs:
        assert run.failures.empty
        for weights in run.weights.values():
            assert all(limits.violation(row) is None for row in weights.to_numpy())
    for name in runs[0].weights:
        wa, wb = runs[0].weights[name], runs[1].weights[name]
        assert np.array_equal(wa.loc[:d].to_numpy(), wb.loc[:d].to_numpy()), name
        assert not np.array_equal(wa.to_numpy(), wb.to_numpy()), name


def test_the_env_projects_its_actions():
    env = PortfolioEnv(
        "sp500", start="2015-01-01", end="2017-12-31", constraints=Mandate(max_weight=0.1)
    )
    env.reset(seed=0)
    weights = env.to_weights(np.r_[10.0, np.zeros(19)])
    assert weights.max() == pytest.approx(0.1) and weights.sum() == pytest.approx(1.0)


def test_an_infeasible_mandate_is_one_error_and_writes_nothing(tmp_path):
    prices = load_prices("sp500").iloc[:, :8].rename_axis("date")
    prices.to_csv(tmp_path / "eight.csv")
    for command in ("backtest", "run"):
        out = tmp_path / command
        result = CliRunner().invoke(
            app,
            [
                command,
                "--prices",
                str(tmp_path / "eight.csv"),
                "--set",
                "constraints.max_weight=0.1",
                "--out",
                str(out),
            ],
        )
        assert result.exit_code == 2, result.output
        errors = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "8 assets hold at most 80.0%" in errors[0]
        assert not out.exists()


def test_allocate_and_the_report_follow_the_run_s_mandate(tmp_path):
    from portfolio_rl.report.protocol import protocol_lines
    from portfolio_rl.report.run import Run
    from portfolio_rl.workflows import allocate, backtest, load_experiment

    exp = load_experiment(
        "backtests/sp500.yaml",
        {"constraints.max_weight": 0.06, "strategies": ["min_variance", "inverse_vol"]},
    )
    weights = allocate(exp, strategy="min_variance").weights
    assert weights.max() <= 0.06 + 1e-9 and weights.max() == pytest.approx(0.06)
    done = backtest(exp, out=tmp_path / "run")
    assert done.result.failures.empty
    assert all((w.to_numpy() <= 0.06 + 1e-9).all() for w in done.result.weights.values())
    assert "Mandate: max weight 6.0%" in protocol_lines(Run(done.run_dir))[1]
