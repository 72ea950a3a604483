import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def toy_prices() -> pd.DataFrame:
    """400 business days of 3 random-walk assets (deterministic)."""
    rng = np.random.default_rng(0)
    idx = pd.bdate_range("2020-01-01", periods=400, name="Date")
    rets = rng.normal(0.0004, 0.01, size=(400, 3))
    return pd.DataFrame(100 * np.cumprod(1 + rets, axis=0), index=idx, columns=["A", "B", "C"])
