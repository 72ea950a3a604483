import numpy as np
import torch

from portfolio_rl.agents.data import DayFeatures
from portfolio_rl.conventions.features import LOOKBACK, asset_features


def test_day_features_are_the_feature_function_rows_whenever_read(toy_prices):
    p = toy_prices.to_numpy()
    expected = torch.tensor(np.nan_to_num(asset_features(p)), dtype=torch.float32)
    feats = DayFeatures(p, torch.device("cpu"))
    assert feats.shape == expected.shape
    for days in (np.array([[390, 300], [LOOKBACK, 5]]), torch.tensor([300, 301, 399])):
        assert torch.equal(feats[days], expected[torch.as_tensor(days)])
    assert torch.equal(feats[torch.arange(len(p))], expected)
