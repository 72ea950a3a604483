import numpy as np
import pytest
import torch

from portfolio_rl.conventions.market import add_cash, hold, rebalance, simple_returns
from portfolio_rl.envs.simulator import simulate
from portfolio_rl.errors import DataError


def test_two_asset_rebalance_by_hand():
    # day 1: A +10%, B 0%; rebalance back to 50/50 at 10 bps; day 2: A -10%, B +5%
    returns = np.array([[0.10, 0.0], [-0.10, 0.05]])
    w = np.array([0.5, 0.5])
    value, drifted = hold(w, returns[:1])
    assert value[-1] == pytest.approx(1.05, abs=1e-15)
    np.testing.assert_allclose(drifted, [0.55 / 1.05, 0.50 / 1.05], atol=1e-15)
    trade, cost = rebalance(w, drifted, cost_bps=10.0)
    assert trade == pytest.approx(0.05 / 1.05, abs=1e-15)
    assert cost == pytest.approx(1e-3 * 0.05 / 1.05, abs=1e-15)
    expected = 1.05 * (1 - 1e-3 * 0.05 / 1.05) * (0.5 * 0.9 + 0.5 * 1.05)

    res = simulate(
        torch.tensor(np.stack([w, w]))[None, None],
        torch.tensor(returns)[None],
        cost_bps=10.0,
        initial_weights=torch.tensor(w)[None],
    )
    assert abs(res.wealth[0, 0, -1].item() - expected) < 1e-12
    assert abs(res.step_log_returns.sum().item() - np.log(expected)) < 1e-12
    assert res.costs[0, 0, 0].item() == 0.0


def test_impact_and_cash_are_free_of_cost_on_cash():
    target, drifted = np.array([0.2, 0.3, 0.5]), np.array([0.4, 0.3, 0.3])
    trade, cost = rebalance(target, drifted, cost_bps=10, impact_bps=100, cash=True)
    assert trade == pytest.approx(0.2)
    assert cost == pytest.approx(1e-3 * 0.2 + 1e-2 * 0.04)


def test_zero_cost_no_rebalance_is_buy_and_hold(toy_prices):
    p = toy_prices.to_numpy()
    r = simple_returns(p)[1:]
    w0 = np.array([0.2, 0.3, 0.5])
    value, _ = hold(w0, r)
    buy_and_hold = (w0 * p[1:] / p[0]).sum(axis=1)
    np.testing.assert_allclose(value, buy_and_hold, rtol=1e-13)


def test_torch_and_numpy_agree():
    rng = np.random.default_rng(0)
    w = rng.dirichlet(np.ones(5), size=3)
    r = rng.normal(0, 0.01, size=(3, 7, 5))
    v_np, d_np = hold(w, r)
    v_t, d_t = hold(torch.tensor(w), torch.tensor(r))
    np.testing.assert_allclose(v_np, v_t.numpy(), rtol=1e-15)
    np.testing.assert_allclose(d_np, d_t.numpy(), rtol=1e-15)


def test_add_cash_rate():
    r = add_cash(np.zeros((252, 2)), annual_rate=0.05)
    assert r.shape == (252, 3)
    assert np.prod(1 + r[:, -1]) == pytest.approx(1.05)


def test_cash_prices_grow_at_the_rate_of_the_cash_returns(toy_prices):
    from portfolio_rl.conventions.market import add_cash_prices

    with_cash = add_cash_prices(toy_prices, 0.03)
    assert list(with_cash.columns) == [*toy_prices.columns, "cash"]
    r = simple_returns(with_cash.to_numpy())[1:, -1]
    np.testing.assert_allclose(r, add_cash(np.zeros((len(r), 1)), 0.03)[:, -1], rtol=1e-9)
    with pytest.raises(DataError, match="already have a column named 'cash'"):
        add_cash_prices(with_cash, 0.03)


def test_drift_is_holds_drifted_weights_bit_for_bit():
    from portfolio_rl.conventions.market import drift

    torch.manual_seed(0)
    for b, g, n in ((16, 16, 20), (16, 16, 51), (3, 5, 500)):
        w = torch.softmax(torch.randn(b, g, n), -1)
        r = 0.01 * torch.randn(b, 1, 21, n)
        assert torch.equal(drift(w, r), hold(w, r)[1])
        w64, r64 = w.double().numpy(), r.double().numpy()
        assert np.array_equal(drift(w64, r64), hold(w64, r64)[1])
