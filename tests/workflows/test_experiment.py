from portfolio_rl.workflows.experiment import load_experiment
from portfolio_rl.workflows.quick import quick_experiment


def test_quick_trains_grpo_alone_with_two_seeds_and_short_folds():
    exp = load_experiment("backtests/industries49_anchored.yaml")
    quick = quick_experiment(exp)
    assert quick.rl.algos == ("grpo",) and quick.rl.seeds == (0, 1)
    assert quick.rl.train["iterations"] == 20 and quick.rl.fold_iterations == 20
    assert set(quick.rl.algo_train) <= {"grpo"} and quick.n_boot == 200
    assert quick.rl.train["anchor"] == exp.rl.train["anchor"]  # only the budget changes
