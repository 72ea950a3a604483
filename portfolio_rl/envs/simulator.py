"""Batched torch simulator: many weight trajectories on shared market paths at once.

Given B start states and G weight trajectories per start (B x G x K x n target weights,
one rebalance every h days), on one market path per start (B x K*h x n daily returns),
it returns wealth, per-step net log returns, turnover and costs with no Python loop over
B, G or K, using the one cost model of [`portfolio_rl.conventions.market`][]. Runs on any device.

Because drift between rebalances depends only on that period's target weights and
returns, the drifted weights before every rebalance are known in one vectorised pass.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from portfolio_rl.conventions.market import hold, rebalance


class SimResult(NamedTuple):
    """Output of `simulate` (shapes for B starts, G trajectories, K steps of h days).

    Examples
    --------
    >>> import torch
    >>> from portfolio_rl.envs import simulate
    >>> result = simulate(torch.full((1, 2, 3, 4), 0.25), torch.zeros(1, 3 * 5, 4), cost_bps=10.0)
    >>> result.wealth.shape, result.turnover.shape
    (torch.Size([1, 2, 16]), torch.Size([1, 2, 3]))
    """

    wealth: torch.Tensor
    """(B, G, K*h + 1) wealth at each close after its trades, starting at the first decision
    close (1 - initial cost) from 1.0 before it."""
    step_log_returns: torch.Tensor
    """(B, G, K) ``log(1 - cost_k) + log(growth over step k)``: the net log growth that
    the action of step k earns, its own cost included."""
    daily_returns: torch.Tensor
    """(B, G, K*h) net simple returns of each day after the first decision close."""
    turnover: torch.Tensor
    """(B, G, K) two-way turnover of each rebalance."""
    costs: torch.Tensor
    """(B, G, K) cost of each rebalance as a fraction of wealth."""
    drifted: torch.Tensor
    """(B, G, K, n) weights at the end of each step (before the next rebalance)."""


def simulate(
    weights: torch.Tensor,
    returns: torch.Tensor,
    cost_bps: float,
    initial_weights: torch.Tensor | None = None,
    impact_bps: float = 0.0,
    cash: bool = False,
) -> SimResult:
    """Simulate target-weight trajectories on shared paths.

    Parameters
    ----------
    weights : Tensor of shape (B, G, K, n)
        Target weights at each of the K rebalances (rows on the simplex).
    returns : Tensor of shape (B, K*h, n)
        Daily simple returns of the days after the first decision close; path b is shared
        by the G trajectories of start b.
    cost_bps, impact_bps, cash
        The cost model, see [`portfolio_rl.conventions.market.rebalance`][].
    initial_weights : Tensor of shape (B, G, n) or (B, n), optional
        Drifted weights held before the first rebalance; default all cash (zeros), so the
        first rebalance pays for buying the whole portfolio.

    Returns
    -------
    SimResult

    Examples
    --------
    >>> import torch
    >>> from portfolio_rl.envs import simulate
    >>> weights = torch.full((1, 2, 3, 4), 0.25)  # B=1 start, G=2 trajectories, K=3 steps, n=4
    >>> result = simulate(weights, torch.zeros(1, 3 * 5, 4), cost_bps=10.0)  # h=5 flat days
    >>> round(float(result.wealth[0, 0, -1]), 4)  # the first purchase cost 10 bps
    0.999
    """
    b, g, k, n = weights.shape
    h = returns.shape[1] // k
    if returns.shape != (b, k * h, n):
        got = tuple(returns.shape)
        raise ValueError(f"returns must be (B, K*h, n) = ({b}, {k}*h, {n}), got {got}")
    segments = returns.reshape(b, 1, k, h, n)
    value, drifted = hold(weights, segments)  # (B,G,K,h), (B,G,K,n)
    if initial_weights is None:
        w0 = weights.new_zeros(b, g, 1, n)
    else:
        w0 = initial_weights.reshape(b, -1, 1, n).expand(b, g, 1, n)
    before = torch.cat([w0, drifted[:, :, :-1]], dim=2)
    trades, costs = rebalance(weights, before, cost_bps, impact_bps, cash)
    step_log = torch.log1p(-costs) + torch.log(value[..., -1])
    # Wealth after each close's trades: the cost of rebalance k+1 lands on the last day of
    # step k; the first cost lands on the decision close itself (column 0).
    factor = value / torch.cat([value.new_ones(b, g, k, 1), value[..., :-1]], dim=-1)
    next_cost = torch.cat([costs[:, :, 1:], costs.new_zeros(b, g, 1)], dim=2)
    factor = torch.cat([factor[..., :-1], (factor[..., -1] * (1 - next_cost))[..., None]], dim=-1)
    daily = factor.reshape(b, g, k * h)
    wealth0 = 1 - costs[:, :, :1]
    wealth = torch.cat([wealth0, wealth0 * torch.cumprod(daily, dim=-1)], dim=-1)
    return SimResult(
        wealth=wealth,
        step_log_returns=step_log,
        daily_returns=daily - 1,
        turnover=trades,
        costs=costs,
        drifted=drifted,
    )
