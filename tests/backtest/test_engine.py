import numpy as np
import pandas as pd
import pytest
import torch

from portfolio_rl.backtest.engine import BacktestConfig, run_backtest
from portfolio_rl.backtest.runner import build_baselines
from portfolio_rl.baselines import default_strategies
from portfolio_rl.conventions.market import add_cash_prices, simple_returns
from portfolio_rl.data.sources import load_benchmark, load_prices
from portfolio_rl.envs.portfolio_env import PortfolioEnv
from portfolio_rl.envs.simulator import simulate


class Scripted:
    """Target weights given in advance, one row per rebalance."""

    name = "scripted"

    def __init__(self, targets):
        self.targets, self.k = targets, 0

    def decide(self, prices, prev):
        w = self.targets[self.k]
        self.k += 1
        return w


@pytest.mark.parametrize("cash", [False, True])
def test_engine_env_and_simulator_share_one_wealth_path(toy_prices, cash):
    h, k, t0 = 5, 20, 270
    n = 4 if cash else 3
    rf = pd.Series(np.random.default_rng(1).uniform(0, 4e-4, len(toy_prices)), toy_prices.index)
    prices = add_cash_prices(toy_prices, rf) if cash else toy_prices
    targets = np.random.default_rng(0).dirichlet(np.ones(n), size=k)
    end = toy_prices.index[t0 + h * k]
    config = BacktestConfig(
        start=str(toy_prices.index[t0].date()),
        end=str(end.date()),
        window=252,
        rebalance_days=h,
        cost_bps=25,
        impact_bps=30,
    )
    scripted = Scripted(targets)
    scripted.uses_cash = cash
    res = run_backtest(prices, [scripted], config)
    wealth = np.cumprod(1 + res.returns["scripted"].to_numpy())
    # the engine's wealth after each step's growth, before the next rebalance's cost
    costs = res.costs["scripted"].to_numpy()
    engine = [wealth[(j + 1) * h] / (1 - costs[j + 1]) for j in range(k - 1)] + [wealth[-1]]

    r = simple_returns(prices.to_numpy())[t0 + 1 : t0 + 1 + h * k]
    start = torch.tensor(np.eye(n)[-1])[None] if cash else None
    sim = simulate(
        torch.tensor(targets)[None, None],
        torch.tensor(r)[None],
        25,
        impact_bps=30,
        initial_weights=start,
        cash=cash,
    )
    sim_wealth = np.exp(np.cumsum(sim.step_log_returns[0, 0].numpy()))
    np.testing.assert_allclose(engine, sim_wealth, rtol=0, atol=1e-10)
    np.testing.assert_allclose(wealth, sim.wealth[0, 0].numpy(), rtol=0, atol=1e-10)

    env = PortfolioEnv(
        toy_prices,
        cost_bps=25,
        impact_bps=30,
        rebalance_days=h,
        episode_days=h * k,
        action_transform="simplex",
        cash_rate=rf if cash else None,
    )
    env.reset(options={"start_date": toy_prices.index[t0]})
    env_wealth = [env.step(w)[4]["wealth"] for w in targets]
    np.testing.assert_allclose(env_wealth, sim_wealth, rtol=0, atol=1e-10)


def test_all_cash_earns_the_risk_free_series_and_costs_nothing(toy_prices):
    rf = pd.Series(np.random.default_rng(2).uniform(0, 4e-4, len(toy_prices)), toy_prices.index)
    prices = add_cash_prices(toy_prices, rf)
    stay = Scripted(np.tile(np.eye(4)[-1], (20, 1)))
    stay.uses_cash = True
    mixed = build_baselines(["equal_weight"])  # fully invested: its cash weight is 0
    config = BacktestConfig(start=str(toy_prices.index[300].date()), rebalance_days=5)
    res = run_backtest(prices, [stay, *mixed], config)
    r = res.returns["scripted"]  # the first day is the decision close: nothing held before
    assert r.iloc[0] == 0.0
    np.testing.assert_allclose(r.iloc[1:], rf.loc[r.index[1:]], rtol=0, atol=1e-15)
    assert (res.costs["scripted"] == 0).all()
    assert (res.weights["equal_weight"]["cash"] == 0).all()
    assert res.weights["equal_weight"].iloc[0, :3].to_numpy() == pytest.approx(np.full(3, 1 / 3))
    # buying out of cash: only the risky leg pays
    assert res.turnover["equal_weight"].iloc[0] == pytest.approx(1.0)


def test_no_strategy_sees_the_future():
    prices = load_prices("sp500", start="2003-01-01", end="2009-12-31")
    bench = load_benchmark("sp500").reindex(prices.index)
    d = pd.Timestamp("2007-06-29")
    changed, bench2 = prices.copy(), bench.copy()
    later = changed.index > d
    rng = np.random.default_rng(0)
    changed.loc[later] *= rng.uniform(0.7, 1.4, size=(later.sum(), 20))
    bench2.loc[later] *= rng.uniform(0.7, 1.4, size=later.sum())
    config = BacktestConfig(start="2005-01-01", rebalance_days=21)
    names = default_strategies(cash=False)
    runs = [
        run_backtest(p, build_baselines(names, config=config), config, benchmark=b)
        for p, b in ((prices, bench), (changed, bench2))
    ]
    a, b = runs
    assert set(a.weights) == set(default_strategies(False)) - {"benchmark"}
    for name in a.weights:
        wa, wb = a.weights[name], b.weights[name]
        assert np.array_equal(wa.loc[:d].to_numpy(), wb.loc[:d].to_numpy()), name
        assert not np.array_equal(wa.to_numpy(), wb.to_numpy()) or name == "equal_weight"
    ra, rb = a.returns.loc[:d], b.returns.loc[:d]
    assert np.array_equal(ra.to_numpy(), rb.to_numpy())
    assert not np.array_equal(a.returns.to_numpy(), b.returns.to_numpy())


def test_first_day_pays_for_buying_from_cash(toy_prices):
    config = BacktestConfig(start=str(toy_prices.index[300].date()), cost_bps=10)
    res = run_backtest(toy_prices, build_baselines(["equal_weight"]), config)
    assert res.returns["equal_weight"].iloc[0] == pytest.approx(-1e-3)
    assert res.returns.index[0] == toy_prices.index[300]
    assert res.turnover["equal_weight"].iloc[0] == pytest.approx(1.0)


class Broken:
    name = "broken"

    def __init__(self):
        self.calls = 0

    def decide(self, prices, prev):
        self.calls += 1
        if self.calls == 2:
            raise RuntimeError("solver exploded")
        if self.calls == 3:
            return np.array([np.nan, 0.5, 0.5])
        return np.array([0.2, 0.3, 0.5])


def test_failures_keep_previous_weights_and_are_recorded(toy_prices):
    config = BacktestConfig(start=str(toy_prices.index[260].date()), rebalance_days=20)
    res = run_backtest(toy_prices, [Broken()], config)
    w = res.weights["broken"].to_numpy()
    assert np.allclose(w, [0.2, 0.3, 0.5])
    assert len(res.failures) == 2 and res.failures["status"].str.contains("exploded").any()
    assert np.isfinite(res.returns.to_numpy()).all()


def test_expanding_window_gets_all_history(toy_prices):
    seen = []

    class Spy:
        name = "spy"

        def decide(self, prices, prev):
            seen.append(len(prices))
            return np.full(3, 1 / 3)

    config = BacktestConfig(
        start=str(toy_prices.index[300].date()), expanding=True, rebalance_days=50
    )
    run_backtest(toy_prices, [Spy()], config)
    assert seen[:2] == [301, 351]
    rolling = BacktestConfig(start=str(toy_prices.index[300].date()), rebalance_days=50)
    seen.clear()
    run_backtest(toy_prices, [Spy()], rolling)
    assert set(seen) == {253}
