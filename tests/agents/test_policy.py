import pytest
import torch

from portfolio_rl.agents.policy import SimplexPolicy, ValueNetwork


@pytest.mark.parametrize("dist", ["logistic_normal", "dirichlet"])
def test_actions_on_the_simplex_and_log_probs(dist):
    torch.manual_seed(0)
    policy = SimplexPolicy(8, hidden=16, distribution=dist)
    obs = torch.randn(3, 7, 8)
    out = policy(obs)
    action = policy.sample(out)
    w = policy.to_weights(action)
    assert w.shape == (3, 7) and torch.all(w >= 0)
    torch.testing.assert_close(w.sum(-1), torch.ones(3))
    assert policy.log_prob(out, action).shape == (3,)
    assert torch.isfinite(policy.entropy(out)).all()
    mean = policy.mean_weights(out)
    torch.testing.assert_close(mean, torch.full((3, 7), 1 / 7), atol=1e-6, rtol=0)  # starts at 1/N
    assert torch.all(policy.kl(out, out).abs() < 1e-5)


@pytest.mark.parametrize("dist", ["logistic_normal", "dirichlet"])
def test_permutation_equivariant_and_any_number_of_assets(dist):
    torch.manual_seed(1)
    policy = SimplexPolicy(8, hidden=16, distribution=dist)
    with torch.no_grad():
        for p in policy.parameters():
            p.add_(0.3 * torch.randn_like(p))
    obs = torch.randn(2, 6, 8)
    perm = torch.randperm(6)
    w = policy.mean_weights(policy(obs))
    torch.testing.assert_close(policy.mean_weights(policy(obs[:, perm])), w[:, perm])
    assert policy.mean_weights(policy(torch.randn(2, 11, 8))).shape == (2, 11)


def test_value_network_is_permutation_invariant():
    torch.manual_seed(2)
    value = ValueNetwork(8, 16)
    obs = torch.randn(4, 5, 8)
    torch.testing.assert_close(value(obs), value(obs[:, torch.randperm(5)]))


def test_logistic_normal_exact_kl_matches_formula():
    policy = SimplexPolicy(8, hidden=4)
    out = policy(torch.zeros(1, 3, 8))
    other = type(out)(out.scores + 1.0, out.log_std + 0.5)
    s1, s2 = out.log_std.exp(), other.log_std.exp()
    per = torch.log(s2 / s1) + (s1**2 + 1.0) / (2 * s2**2) - 0.5
    torch.testing.assert_close(policy.kl(out, other), 3 * per.expand(1))
