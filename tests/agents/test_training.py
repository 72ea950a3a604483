"""Training runs: learning on synthetic markets with a known answer, seeds, resume, safety."""

import numpy as np
import pandas as pd
import pytest
import torch

from portfolio_rl.agents.checkpoint import PolicyStrategy, load_policy, load_policy_strategy
from portfolio_rl.agents.config import TrainConfig
from portfolio_rl.agents.registry import trainer
from portfolio_rl.agents.runstate import RunState
from portfolio_rl.backtest.engine import BacktestConfig, run_backtest
from portfolio_rl.backtest.runner import build_baselines
from portfolio_rl.data.market_paths import returns_to_prices
from portfolio_rl.errors import PortfolioRLError, TrainingDiverged

DATES = pd.bdate_range("2000-01-03", periods=3000, name="Date")
SPLITS = {"train_end": str(DATES[1999].date()), "val_end": str(DATES[2399].date())}
TEST_START = str(DATES[2400].date())


def frame(returns, names):
    return pd.DataFrame(returns_to_prices(returns), index=DATES[: len(returns)], columns=names)


def small(**kw):
    base = dict(
        data_start="1990-01-01",
        iterations=30,
        batch_starts=16,
        group_size=8,
        steps=4,
        rebalance_days=21,
        eval_every=5,
        patience=100,
        **SPLITS,
    )
    return TrainConfig(**{**base, **kw})


def oos_run(folder, prices, rebalance_days, extra=()):
    config = BacktestConfig(start=TEST_START, rebalance_days=rebalance_days, cost_bps=10)
    strategies = [load_policy_strategy(folder), *extra]
    return run_backtest(prices, strategies, config)


@pytest.fixture(scope="module")
def sp500():
    from portfolio_rl.data.sources import load_prices

    return load_prices("sp500", start="2000-01-01", end="2014-12-31")


@pytest.mark.parametrize("algo", ["grpo", "ppo", "reinforce"])
def test_same_seed_bit_identical_weights(tmp_path, sp500, algo):
    cfg = TrainConfig(algo=algo, iterations=6, batch_starts=4, group_size=4, eval_every=3)
    a = trainer(algo)(cfg, sp500, tmp_path / "a")
    b = trainer(algo)(cfg, sp500, tmp_path / "b")
    pa, _ = load_policy(tmp_path / "a")
    pb, _ = load_policy(tmp_path / "b")
    for (k, v), (_, w) in zip(pa.state_dict().items(), pb.state_dict().items(), strict=True):
        assert torch.equal(v, w), k
    pd.testing.assert_frame_equal(a.log, b.log)
    c = trainer(algo)(TrainConfig(**{**cfg.to_dict(), "seed": 1}), sp500, tmp_path / "c")
    assert not a.log["reward_mean"].equals(c.log["reward_mean"])


@pytest.mark.parametrize("algo", ["grpo", "ppo", "reinforce"])
def test_logged_entropy_is_the_policy_that_was_updated(tmp_path, sp500, algo):
    # one gradient step moves the shared log std; the first row's entropy is the start's
    cfg = TrainConfig(algo=algo, iterations=1, mu=1, batch_starts=4, group_size=4, lr=0.05)
    log = trainer(algo)(cfg, sp500, tmp_path).log
    n = sp500.shape[1]
    start = n * (0.5 + 0.5 * np.log(2 * np.pi) + cfg.init_log_std)
    assert log["entropy"].dropna().iloc[0] == pytest.approx(start, abs=1e-4)


def test_ppo_passes_the_value_network_once_per_gradient_step(tmp_path, sp500, monkeypatch):
    # one chunk: the first step's value pass also gives GAE its values (no extra pass)
    from portfolio_rl.agents.policy import ValueNetwork

    calls = []
    forward = ValueNetwork.forward
    monkeypatch.setattr(
        ValueNetwork, "forward", lambda self, obs: calls.append(1) or forward(self, obs)
    )
    cfg = TrainConfig(algo="ppo", iterations=3, mu=2, batch_starts=4, group_size=4)
    log = trainer("ppo")(cfg, sp500, tmp_path).log
    assert len(calls) == 3 * 2
    assert np.isfinite(log["value_loss"].dropna()).all()


@pytest.mark.parametrize("algo", ["grpo", "ppo"])
def test_resumed_run_equals_uninterrupted(tmp_path, sp500, monkeypatch, algo):
    cfg = TrainConfig(
        algo=algo,
        iterations=12,
        batch_starts=4,
        group_size=4,
        eval_every=3,
        checkpoint_every=5,
        patience=100,
    )
    full = trainer(algo)(cfg, sp500, tmp_path / "full")

    original = RunState.log

    def crash_after_seven(self, row):
        original(self, row)
        if row["iteration"] == 7:
            raise KeyboardInterrupt

    monkeypatch.setattr(RunState, "log", crash_after_seven)
    with pytest.raises(KeyboardInterrupt):
        trainer(algo)(cfg, sp500, tmp_path / "cut")
    monkeypatch.setattr(RunState, "log", original)
    resumed = trainer(algo)(cfg, sp500, tmp_path / "cut", resume=True)
    pd.testing.assert_frame_equal(full.log, resumed.log)
    a = torch.load(tmp_path / "full" / "last.pt", weights_only=True)["state"]
    b = torch.load(tmp_path / "cut" / "last.pt", weights_only=True)["state"]
    for k, v in a["policy"].items():
        assert torch.equal(v, b["policy"][k]), k


def test_divergence_stops_with_a_message(tmp_path, sp500):
    cfg = TrainConfig(iterations=3, batch_starts=4, group_size=4, max_kl=1e-12, beta=0.0)
    with pytest.raises(TrainingDiverged, match="KL to the reference"):
        trainer("grpo")(cfg, sp500, tmp_path)


def test_checkpoints_never_unpickle_code(tmp_path, sp500):
    trainer("grpo")(
        TrainConfig(iterations=2, batch_starts=2, group_size=2, eval_every=1), sp500, tmp_path
    )

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"x": Evil()}, tmp_path / "policy.pt")
    with pytest.raises(PortfolioRLError, match=r"policy\.pt cannot be read"):
        load_policy(tmp_path)
    torch.save({"state": {"x": Evil()}, "meta": "{}"}, tmp_path / "policy.pt")  # as a unit
    with pytest.raises(PortfolioRLError, match=r"policy\.pt cannot be read"):
        load_policy(tmp_path)


@pytest.mark.parametrize("path", ["historical", "bootstrap"])
def test_training_never_reads_after_val_end(tmp_path, path):
    from portfolio_rl.data.sources import load_prices

    cfg = TrainConfig(iterations=3, batch_starts=4, group_size=4, eval_every=1, path=path)
    prices = load_prices("sp500", start="2000-01-01", end="2016-12-31")
    later = prices.index > pd.Timestamp(cfg.val_end)
    assert later.sum() > 400  # two years of prices that training must never read
    changed = prices.copy()
    changed.loc[later] *= np.random.default_rng(0).uniform(0.5, 2.0, size=(later.sum(), 20))
    a = trainer("grpo")(cfg, prices, tmp_path / "a")
    b = trainer("grpo")(cfg, changed, tmp_path / "b")
    pd.testing.assert_frame_equal(a.log, b.log)
    pa, pb = load_policy(tmp_path / "a")[0], load_policy(tmp_path / "b")[0]
    for k, v in pa.state_dict().items():
        assert torch.equal(v, pb.state_dict()[k]), k


def test_policy_strategy_runs_in_the_backtest(tmp_path, sp500):
    trainer("grpo")(
        TrainConfig(iterations=2, batch_starts=2, group_size=2, eval_every=1), sp500, tmp_path
    )
    config = BacktestConfig(start="2013-01-01", rebalance_days=21)
    res = run_backtest(
        sp500, [load_policy_strategy(tmp_path), *build_baselines(["equal_weight"])], config
    )
    assert res.failures.empty
    assert np.isfinite(res.returns["grpo"]).all()


def test_policy_decisions_do_not_see_the_future(tmp_path, sp500):
    trainer("grpo")(
        TrainConfig(iterations=4, batch_starts=4, group_size=4, eval_every=2, lr=1e-2),
        sp500,
        tmp_path,
    )
    # the last policy, not the one chosen on validation (which may be the 1/N start)
    policy, meta = load_policy(tmp_path)
    policy.load_state_dict(torch.load(tmp_path / "last.pt", weights_only=True)["state"]["policy"])
    strategy = PolicyStrategy("grpo", policy, meta)
    d = pd.Timestamp("2014-03-31")
    changed = sp500.copy()
    later = changed.index > d
    changed.loc[later] *= np.random.default_rng(0).uniform(0.6, 1.6, size=(later.sum(), 20))
    config = BacktestConfig(start="2013-01-01", rebalance_days=10)
    a, b = (run_backtest(p, [strategy], config) for p in (sp500, changed))
    wa, wb = a.weights["grpo"], b.weights["grpo"]
    assert np.array_equal(wa.loc[:d].to_numpy(), wb.loc[:d].to_numpy())
    assert not np.array_equal(wa.to_numpy(), wb.to_numpy())
    assert np.array_equal(a.returns.loc[:d].to_numpy(), b.returns.loc[:d].to_numpy())


def test_bootstrap_paths_train_and_stay_inside_the_training_range(tmp_path, sp500):
    cfg = TrainConfig(iterations=2, batch_starts=4, group_size=4, eval_every=1, path="bootstrap")
    a = trainer("grpo")(cfg, sp500, tmp_path / "a")
    b = trainer("grpo")(cfg, sp500, tmp_path / "b")
    pd.testing.assert_frame_equal(a.log, b.log)
    from portfolio_rl.agents.data import MarketData

    data = MarketData.build(sp500, cfg, torch.device("cpu"))
    last_train_day = int(data.dates.searchsorted(pd.Timestamp(cfg.train_end), side="right")) - 1
    assert len(data.bootstrap_pool) == last_train_day
