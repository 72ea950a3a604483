"""Anchored policies: the untrained policy is its optimizer, everywhere; nothing sees the future."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from portfolio_rl.agents.anchor import start_weights
from portfolio_rl.agents.config import TrainConfig
from portfolio_rl.backtest import anchors as anchors_module
from portfolio_rl.backtest import tables as tables_module
from portfolio_rl.backtest.anchors import anchor_table, choose_anchor
from portfolio_rl.backtest.engine import BacktestConfig, run_backtest
from portfolio_rl.backtest.runner import build_baselines
from portfolio_rl.cli import app
from portfolio_rl.conventions.market import add_cash_prices
from portfolio_rl.data.sources import load_prices
from portfolio_rl.workflows import training
from portfolio_rl.workflows.experiment import ExperimentConfig, RLConfig, SplitConfig
from portfolio_rl.workflows.folds import fold_starts
from portfolio_rl.workflows.pipeline import SILENT

runner = CliRunner()
START, TRAIN_END, VAL_END = "2010-01-01", "2013-12-31", "2014-12-31"


@pytest.fixture(scope="module")
def untrained(tmp_path_factory):
    """``train --anchor min_variance --iterations 0`` on a small sp500 range, and a CSV of it."""
    tmp = tmp_path_factory.mktemp("anchored")
    prices = load_prices("sp500", start=START, end="2016-12-31")
    path = tmp / "p.csv"
    prices.to_csv(path)
    args = ["train", "--prices", str(path), "--train-end", TRAIN_END, "--val-end", VAL_END]
    result = runner.invoke(
        app, [*args, "--anchor", "min_variance", "--iterations", "0", "--out", str(tmp / "t")]
    )
    assert result.exit_code == 0, result.output
    assert "the untrained start; 0 iterations run" in result.output
    return tmp, path, prices


def test_the_untrained_policy_decides_the_anchors_weights_in_the_backtest(untrained):
    tmp, path, _ = untrained
    args = ["backtest", "--prices", str(path), "--policy", str(tmp / "t")]
    result = runner.invoke(app, [*args, "--strategies", "equal_weight", "--out", str(tmp / "b")])
    assert result.exit_code == 0, result.output
    weights = tmp / "b" / "weights"
    policy = pd.read_csv(weights / "grpo.csv", index_col=0)
    anchor = pd.read_csv(weights / "anchor_min_variance.csv", index_col=0)
    assert len(policy) > 20
    assert np.abs(policy - anchor).to_numpy().max() < 1e-6
    stats = pd.read_csv(tmp / "b" / "stats.csv", index_col=0)
    assert stats.loc["grpo", "anchor"] == "anchor_min_variance"
    assert stats.loc["grpo", "p_hac_vs_anchor"] == 1.0  # the same returns: no difference


def test_the_untrained_policy_allocates_the_anchors_weights(untrained):
    tmp, path, prices = untrained
    out = tmp / "alloc.json"
    result = runner.invoke(
        app, ["allocate", "--policy", str(tmp / "t"), "--prices", str(path), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    weights = pd.Series(json.loads(out.read_text())["weights"])
    last = anchor_table(prices, "min_variance").weights.iloc[-1]
    start = start_weights(last.to_numpy(), cash=False)
    assert np.abs(weights[last.index].to_numpy() - start).max() < 1e-6


def test_the_untrained_policy_acts_as_its_anchor_in_the_env(untrained):
    from portfolio_rl.agents.checkpoint import load_policy
    from portfolio_rl.conventions.features import observation  # noqa: F401  (the env's own)
    from portfolio_rl.envs import PortfolioEnv

    tmp, _, prices = untrained
    table = anchor_table(prices, "min_variance").weights
    env = PortfolioEnv(prices, start="2014-01-01", end="2016-12-31", anchor=table)
    policy, _ = load_policy(tmp / "t")
    obs, info = env.reset(seed=0)
    for _ in range(5):
        out = policy(torch.from_numpy(obs), torch.tensor(info["anchor"], dtype=torch.float32))
        w = policy.mean_weights(out).detach().double().numpy()
        start = start_weights(table.loc[info["date"]].to_numpy(), cash=False)
        np.testing.assert_allclose(w, start, atol=1e-6)
        obs, _, _, _, info = env.step(np.log(np.maximum(w, 1e-12)).astype(np.float32))


def test_the_untrained_policy_starts_near_its_anchor_with_every_asset_and_a_capped_exposure():
    from portfolio_rl.agents.anchor import ANCHOR_MIX
    from portfolio_rl.agents.policy import SimplexPolicy

    policy = SimplexPolicy(17, exposure=True, anchored=True)
    anchor = torch.tensor([[0.2, 0.0, 0.3, 0.5], [0.0, 0.0, 0.0, 1.0], [0.5, 0.5, 0.0, 0.0]])
    out = policy(torch.zeros(3, 3, 17), anchor)
    w = policy.mean_weights(out)
    torch.testing.assert_close(
        w, torch.tensor(start_weights(anchor.numpy(), True), dtype=w.dtype), atol=1e-6, rtol=0
    )
    risky = w[:, :3] / w[:, :3].sum(-1, keepdim=True)
    assert (risky >= ANCHOR_MIX / 3 - 1e-7).all()  # every asset held: it has a gradient
    assert torch.allclose(risky[0], (0.95 * anchor[0, :3] / 0.5 + 0.05 / 3), atol=1e-6)
    assert 0.94 < w[2, :3].sum() < 0.96  # a fully invested anchor starts at 95.3%


def test_without_the_mix_and_the_cap_an_asset_left_out_gets_no_gradient():
    """What the 1/N share and the exposure cap mend: at a floor of 1e-8 the softmax weight
    of a left-out asset and the sigmoid's slope at a full anchor are ~1e-7."""
    from portfolio_rl.agents.anchor import anchor_logits

    anchor = torch.tensor([[0.0, 0.0, 0.4, 0.6, 0.0]])
    log_mix, logit = anchor_logits(anchor, cash=True)
    assert torch.softmax(log_mix, -1)[0, 0] > 1e-2  # was 1e-8 before the mix
    assert torch.sigmoid(logit) * (1 - torch.sigmoid(logit)) > 0.04  # was 1e-7 at logit 16


def test_tables_are_cached_under_a_key_of_prices_baseline_parameters_and_window(
    tmp_path, monkeypatch
):
    prices = load_prices("sp500", start="2015-01-01", end="2016-06-30").iloc[:, :5]
    first = anchor_table(prices, "inverse_vol", {}, 60, cache=tmp_path)

    def no_compute(*args):
        raise AssertionError("computed again")

    monkeypatch.setattr(anchors_module, "baseline_tables", no_compute)
    again = anchor_table(prices, "inverse_vol", {}, 60, cache=tmp_path)
    pd.testing.assert_frame_equal(first.weights, again.weights)
    key = anchors_module.table_key
    base = key(prices, "inverse_vol", {}, 60)
    changed = prices.copy()
    changed.iloc[-1, 0] *= 1.01
    assert len({base, key(prices, "inverse_vol", {}, 61), key(changed, "inverse_vol", {}, 60)}) == 3
    assert key(prices, "min_variance", {"max_weight": 0.5}, 60) != key(
        prices, "min_variance", {}, 60
    )
    assert (first.weights.iloc[:60] == 0.2).all().all()  # equal weights before a full window


def test_auto_chooses_on_the_validation_range_only():
    prices = load_prices("sp500", start="2012-01-01", end="2016-12-31")
    config = BacktestConfig(window=252)
    names = ["equal_weight", "min_variance", "inverse_vol"]
    chosen, scores = choose_anchor(prices, names, {}, config, "2015-01-01", "2015-12-31")
    changed = prices.copy()
    changed.loc["2016-01-01":] *= 3.0
    assert (chosen, scores) == choose_anchor(changed, names, {}, config, "2015-01-01", "2015-12-31")
    assert set(scores) == set(names) and chosen == max(scores, key=scores.get)


def anchored_experiment(cash=False):
    rl = RLConfig(
        algos=("grpo",),
        seeds=(0,),
        train={
            "iterations": 3,
            "batch_starts": 4,
            "group_size": 4,
            "eval_every": 1,
            "anchor": "auto",
        },
        fold_iterations=2,
    )
    return ExperimentConfig(
        strategies=("equal_weight", "min_variance", "inverse_vol"),
        splits=SplitConfig(train_end="2012-12-31", val_end="2013-12-31"),
        rl=rl,
        cash=cash,
    )


def test_changing_later_prices_changes_no_earlier_anchor_feature_or_decision(tmp_path):
    exp = anchored_experiment()
    prices = load_prices("sp500", start="2009-01-01", end="2015-12-31")
    later = prices.copy()
    later.loc["2014-07-01":] *= np.linspace(0.5, 2.0, len(later.loc["2014-07-01":]))[:, None]
    runs = []
    for k, frame in enumerate((prices, later)):
        starts = fold_starts(exp, frame)
        trained = training.train_policies(exp, frame, starts, tmp_path / str(k), SILENT)
        config = BacktestConfig(start="2014-01-01", rebalance_days=21)
        result = run_backtest(frame, [*trained.policies, *trained.anchors], config)
        runs.append((starts, trained, result))
    (starts, a, ra), (_, b, rb) = runs
    assert len(starts) == 2 and a.anchor_choices["auto"][0] == b.anchor_choices["auto"][0]
    table = a.anchors[0].folds[0][1].anchor.weights
    assert table.isna().all(axis=1).mean() > 0.8  # only the days the run reads are solved
    first = table.loc[:"2014-06-30"]
    pd.testing.assert_frame_equal(first, b.anchors[0].folds[0][1].anchor.weights.loc[:"2014-06-30"])
    for name in ("grpo_s0", "anchor_auto"):
        before = ra.weights[name].loc[:"2014-06-30"]
        assert len(before) >= 6
        pd.testing.assert_frame_equal(before, rb.weights[name].loc[:"2014-06-30"])


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"anchor": "min_variance", "algo": "robust_grpo"}, "robust_grpo does not take an anchor"),
        ({"anchor": "min_variance", "distribution": "dirichlet"}, "needs distribution"),
        ({"anchor": "Min Variance"}, "anchor must be none, auto or a baseline"),
    ],
)
def test_unsupported_anchors_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**changes)


@pytest.mark.parametrize(
    ("train", "extra", "message"),
    [
        ({"anchor": "nonsense"}, {}, "anchor 'nonsense' is not a baseline"),
        ({"anchor": "benchmark"}, {}, "anchor 'benchmark' is not a baseline"),
        ({"anchor": "vol_managed"}, {}, "anchor vol_managed holds cash"),
        ({"anchor": "auto"}, {"seeds_together": True}, "seeds_together does not take an anchor"),
    ],
)
def test_experiments_refuse_bad_anchors(train, extra, message):
    with pytest.raises(ValueError, match=message):
        ExperimentConfig(rl=RLConfig(train=train, **extra))


def test_a_cash_anchor_table_has_a_cash_column(tmp_path):
    prices = add_cash_prices(load_prices("sp500", start="2015-01-01", end="2016-03-31"), 0.01)
    weights = anchor_table(prices, "vol_managed", {}, 63, cache=tmp_path).weights
    assert list(weights.columns) == list(prices.columns)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert (weights["cash"].iloc[63:] > 0).any()


def test_auto_chooses_on_sharpe_not_log_growth():
    """A market where 1/N grows faster and minimum variance has the higher Sharpe ratio:
    auto scores the test's measure, so it takes minimum variance."""
    from portfolio_rl.data.market_paths import gbm_returns, returns_to_prices

    dates = pd.bdate_range("2010-01-01", "2016-12-31")
    mu, vol = np.array([0.30, 0.05]), np.array([0.35, 0.04])
    r = gbm_returns(mu, np.diag(vol**2), len(dates), np.random.default_rng(0))
    prices = pd.DataFrame(returns_to_prices(r), index=dates, columns=["RISKY", "SAFE"])
    names = ["equal_weight", "min_variance"]
    config = BacktestConfig(window=252)
    chosen, scores = choose_anchor(prices, names, {}, config, "2011-01-01", "2016-12-31")
    run = run_backtest(prices, build_baselines(names), BacktestConfig(start="2011-01-01"))
    growth = np.log1p(run.returns).mean()
    assert growth["equal_weight"] > growth["min_variance"]  # log growth would take 1/N
    assert chosen == "min_variance" and scores["min_variance"] > scores["equal_weight"]


def test_auto_scores_sharpe_in_excess_of_cash_with_cash():
    prices = add_cash_prices(load_prices("sp500", start="2012-01-01", end="2016-12-31"), 0.03)
    names = ["equal_weight", "min_variance", "vol_managed"]
    chosen, scores = choose_anchor(prices, names, {}, BacktestConfig(), "2014-01-01", "2016-12-31")
    flat, _ = choose_anchor(
        prices.iloc[:, :-1], names[:2], {}, BacktestConfig(), "2014-01-01", "2016-12-31"
    )
    assert set(scores) == set(names) and chosen == max(scores, key=scores.get)
    assert flat in names


def test_auto_chooses_each_fold_on_every_validation_year_before_it(tmp_path, monkeypatch):
    seen = []
    real = anchors_module.choose_anchors

    def spy(prices, candidates, params, config, val_start, val_ends, *rest):
        seen.append((val_start, list(val_ends)))
        return real(prices, candidates, params, config, val_start, val_ends, *rest)

    monkeypatch.setattr(anchors_module, "choose_anchors", spy)
    exp = anchored_experiment()
    prices = load_prices("sp500", start="2009-01-01", end="2015-12-31")
    training.train_policies(exp, prices, fold_starts(exp, prices), tmp_path, SILENT)
    assert seen == [("2013-01-01", ["2013-12-31", "2014-12-31"])]  # the expanding window
    names = ["equal_weight", "min_variance", "inverse_vol"]
    together = real(prices, names, {}, exp.backtest, "2013-01-01", ["2013-12-31", "2014-12-31"])
    alone = [
        real(prices.loc[:end], names, {}, exp.backtest, "2013-01-01", [end])[0]
        for end in ("2013-12-31", "2014-12-31")
    ]
    assert together == alone  # one walk forward scores each fold as if it ended there


def test_a_table_is_the_same_in_blocks_over_worker_processes(tmp_path, monkeypatch):
    monkeypatch.setattr(tables_module, "BLOCK", 60)  # 3 blocks; risk parity warm-starts
    prices = load_prices("sp500", start="2012-01-01", end="2014-12-31")
    days = prices.index[252::3]
    alone, spread = (
        anchor_table(prices, "risk_parity", {}, 252, tmp_path / str(n), days=days, workers=n)
        for n in (1, 2)
    )
    assert len(days) > 2 * tables_module.BLOCK
    pd.testing.assert_frame_equal(alone.weights, spread.weights, check_exact=True)
    both = anchors_module.anchor_tables(  # two tables' blocks in one pool
        prices,
        {"min_variance": {}, "risk_parity": {}},
        252,
        tmp_path / "both",
        days=days,
        workers=2,
    )
    pd.testing.assert_frame_equal(both["risk_parity"].weights, alone.weights, check_exact=True)
    assert not both["min_variance"].weights.equals(alone.weights)


def test_auto_scores_are_the_same_over_worker_processes():
    prices = load_prices("sp500", start="2010-01-01", end="2014-12-31")
    names = ["equal_weight", "min_variance", "inverse_vol", "risk_parity"]
    ends = ["2013-12-31", "2014-12-31"]
    args = (prices, names, {}, BacktestConfig(rebalance_days=21), "2013-01-01", ends)
    alone = anchors_module.choose_anchors(*args)
    assert anchors_module.choose_anchors(*args, None, 2) == alone
