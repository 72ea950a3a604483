import numpy as np
import pytest
import torch

from portfolio_rl.conventions.mandate import Mandate, project

COLUMNS = [f"A{i}" for i in range(12)] + ["cash"]
MANDATE = Mandate(
    min_weight=0.01,
    max_weight=0.15,
    min_cash=0.05,
    max_cash=0.3,
    groups={
        "g1": {"assets": COLUMNS[:4], "max": 0.3},
        "g2": {"assets": COLUMNS[5:9], "max": 0.25},
    },
)


def _cvxpy_projection(v, limits):
    import cvxpy as cp

    x = cp.Variable(len(v))
    cons = [x >= limits.lower, x <= limits.upper, cp.sum(x) == 1]
    cons.append(limits.members @ x <= limits.caps)
    cp.Problem(cp.Minimize(cp.sum_squares(x - v)), cons).solve(solver="CLARABEL")
    return x.value


def test_projection_is_the_euclidean_projection_a_solver_finds():
    limits = MANDATE.limits(COLUMNS)
    rng = np.random.default_rng(0)
    for _ in range(10):
        v = rng.normal(1 / 13, 0.3, 13)
        x, y = project(v, limits), _cvxpy_projection(v, limits)
        # nearest to v among the feasible points (the solver's answer is good to ~1e-5)
        assert ((x - v) ** 2).sum() <= ((y - v) ** 2).sum() + 1e-9
        assert np.abs(x - y).max() < 1e-4
        assert limits.violation(x) is None
        assert abs(x.sum() - 1) < 1e-12


def test_projection_keeps_feasible_weights_and_agrees_across_numpy_and_torch():
    limits = MANDATE.limits(COLUMNS)
    v = np.random.default_rng(1).normal(0, 0.3, (64, 13))
    x = project(v, limits)
    assert np.abs(project(x, limits) - x).max() < 1e-12  # a feasible point stays
    t64 = project(torch.tensor(v), limits)
    assert t64.dtype == torch.float64
    assert np.abs(t64.numpy() - x).max() < 1e-12
    t32 = project(torch.tensor(v, dtype=torch.float32), limits)
    assert t32.dtype == torch.float32 and np.abs(t32.numpy() - x).max() < 1e-6
    assert project(v, None) is v


def test_a_simple_cap_moves_the_excess_to_the_others_equally():
    limits = Mandate(max_weight=0.4).limits(["A", "B", "C"])
    assert project(np.array([0.7, 0.2, 0.1]), limits).tolist() == pytest.approx([0.4, 0.35, 0.25])


@pytest.mark.parametrize(
    ("mandate", "columns", "message"),
    [
        (Mandate(max_weight=0.1), list("abcdefgh"), "8 assets hold at most 80.0%"),
        (Mandate(min_weight=0.2), list("abcdefgh"), "floors add up to 160.0%"),
        (Mandate(min_cash=0.1), list("abc"), "need cash"),
        (
            Mandate(groups={"g": {"assets": ["a", "zz"], "max": 0.5}}),
            list("abc"),
            "not in the prices: zz",
        ),
        (
            Mandate(max_weight=0.5, groups={"g": {"assets": ["a", "b"], "max": 0.1}}),
            list("abc"),
            "hold at most 60.0%",
        ),
    ],
)
def test_a_mandate_no_portfolio_meets_is_one_error(mandate, columns, message):
    with pytest.raises(ValueError, match=message):
        mandate.limits(columns)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"max_weight": 1.5}, "from 0 to 1"),
        ({"min_weight": -0.1}, "long-only"),
        ({"min_weight": 0.3, "max_weight": 0.2}, "exceeds its cap"),
        ({"groups": {"g": ["a"]}}, "assets: "),
        ({"groups": {"g": {"assets": ["a"], "max": 2}}}, "from 0 to 1"),
        (
            {"groups": {"g": {"assets": ["a"], "max": 0.5}, "h": {"assets": ["a"], "max": 0.5}}},
            "in both g and h",
        ),
    ],
)
def test_bad_mandates_are_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        Mandate(**fields)


def test_the_sleeve_of_a_fully_invested_strategy_scales_every_limit():
    mandate = Mandate(max_weight=0.09, min_cash=0.1, groups={"g": {"assets": ["a"], "max": 0.045}})
    sleeve = mandate.limits(list("abcdefghijkl"), sleeve=True)
    assert sleeve.upper[0] == pytest.approx(0.1) and sleeve.caps[0] == pytest.approx(0.05)
    w = project(np.full(12, 1 / 12), sleeve)
    full = mandate.limits([*"abcdefghijkl", "cash"])
    assert full.violation(np.append(0.9 * w, 0.1)) is None
    with pytest.raises(ValueError, match="fully invested"):
        Mandate(max_weight=0.1, min_cash=0.05).limits(list("abcdefghi"), sleeve=True)


def test_the_default_mandate_binds_nothing():
    assert not Mandate().binding and Mandate(max_weight=0.5).binding
    assert "long-only" in Mandate().describe()
    assert MANDATE.describe().startswith("min weight 1.0%, max weight 15.0%")
