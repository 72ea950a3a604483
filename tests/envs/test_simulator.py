import numpy as np
import torch

from portfolio_rl.envs.simulator import simulate


def test_shapes_and_group_sharing():
    b, g, k, h, n = 3, 4, 5, 7, 6
    gen = torch.Generator().manual_seed(0)
    w = torch.softmax(torch.randn(b, g, k, n, generator=gen, dtype=torch.float64), -1)
    r = 0.01 * torch.randn(b, k * h, n, generator=gen, dtype=torch.float64)
    res = simulate(w, r, cost_bps=10)
    assert res.wealth.shape == (b, g, k * h + 1)
    assert res.daily_returns.shape == (b, g, k * h)
    assert res.step_log_returns.shape == res.costs.shape == res.turnover.shape == (b, g, k)
    # same weights in two trajectories of a group -> same result
    w[:, 1] = w[:, 0]
    res = simulate(w, r, cost_bps=10)
    assert torch.equal(res.wealth[:, 0], res.wealth[:, 1])
    # wealth path and step log returns tell one story
    total = res.step_log_returns.sum(-1)
    torch.testing.assert_close(torch.log(res.wealth[..., -1]), total, rtol=0, atol=1e-12)
    torch.testing.assert_close(
        res.wealth[..., 1:] / res.wealth[..., :-1] - 1, res.daily_returns, rtol=0, atol=1e-12
    )
    torch.testing.assert_close(res.costs[..., 0], torch.full((b, g), 1e-3, dtype=torch.float64))


def test_initial_weights_and_turnover_by_hand():
    w = torch.tensor([[[[1.0, 0.0], [0.0, 1.0]]]], dtype=torch.float64)
    r = torch.tensor([[[0.5, 0.0]]], dtype=torch.float64).repeat(1, 2, 1)
    res = simulate(w, r, cost_bps=100, initial_weights=torch.tensor([[1.0, 0.0]]))
    assert res.turnover[0, 0].tolist() == [0.0, 2.0]
    np.testing.assert_allclose(res.wealth[0, 0].numpy(), [1.0, 1.5 * 0.98, 1.5 * 0.98])
