import pytest
import torch

from portfolio_rl.agents import rollout as rollout_module
from portfolio_rl.agents.policy import SimplexPolicy


@pytest.mark.parametrize("exposure", [False, True])
def test_a_step_taken_in_pieces_is_the_whole_forward_pass(monkeypatch, exposure):
    torch.manual_seed(0)
    policy = SimplexPolicy(8, hidden=16, exposure=exposure, anchored=True)
    with torch.no_grad():
        for p in policy.parameters():
            p.add_(0.3 * torch.randn_like(p))
    obs = torch.randn(5, 3, 7, 8)  # starts x members x assets x features
    anchor = torch.softmax(torch.randn(5, 3, 7 + exposure), dim=-1)
    whole = policy(obs, anchor)
    monkeypatch.setattr(rollout_module, "ROLLOUT_ROWS", 2 * 3 * 7)  # two starts a pass
    pieces = rollout_module.act(policy, obs, anchor)
    assert (pieces.exposure is None) == (not exposure)
    for a, b in zip(whole, pieces, strict=True):
        if a is None:
            assert b is None
        else:
            torch.testing.assert_close(b, a, rtol=0, atol=1e-6)
