"""Statistics of a backtest: bootstrap confidence intervals, Sharpe tests, deflated Sharpe."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from portfolio_rl.conventions.market import PERIODS
from portfolio_rl.conventions.measures import cvar, max_drawdown, sharpe
from portfolio_rl.data.market_paths import stationary_bootstrap_indices, stationary_bootstrap_sums

EULER_GAMMA = 0.5772156649015329

#: The columns of ``stats.csv`` that the report shows: key -> (label, what the number is).
#: The report's tables and their footnotes are written from these, so a label cannot drift
#: from its number.
STATS_FIELDS: dict[str, tuple[str, str]] = {
    "sharpe_ci": ("Sharpe 95% CI", "stationary-bootstrap 95% interval of the Sharpe ratio"),
    "cagr_ci": ("CAGR 95% CI", "stationary-bootstrap 95% interval of the CAGR"),
    "sr_diff_vs_comparator": (
        "ΔSharpe vs comparator",
        "Sharpe ratio minus the comparator's (named in the experiment before the test)",
    ),
    "p_hac_vs_comparator": (
        "p vs comparator (HAC)",
        "Ledoit-Wolf HAC test of equal Sharpe ratios with the comparator",
    ),
    "sr_diff_vs_ew": ("ΔSharpe vs 1/N", "Sharpe ratio minus equal weight's (1/N)"),
    "p_hac_vs_ew": ("p vs 1/N (HAC)", "Ledoit-Wolf HAC test of equal Sharpe ratios with 1/N"),
    "p_vs_ew": ("p vs 1/N (JKM)", "Jobson-Korkie-Memmel test of equal Sharpe ratios with 1/N"),
    "sr_diff_vs_best_robust": (
        "ΔSharpe vs best robust",
        "Sharpe ratio minus the best robust baseline's",
    ),
    "p_hac_vs_best_robust": (
        "p vs best robust (HAC)",
        "Ledoit-Wolf HAC test against the best robust baseline",
    ),
    "p_vs_best_robust": (
        "p vs best robust (JKM)",
        "Jobson-Korkie-Memmel test against the best robust baseline",
    ),
    "sr_diff_vs_anchor": ("ΔSharpe vs anchor", "Sharpe ratio minus its anchor's"),
    "p_hac_vs_anchor": ("p vs anchor (HAC)", "Ledoit-Wolf HAC test against its anchor"),
    "psr": ("PSR (SR>0)", "probability that the true Sharpe ratio is above 0"),
    "dsr": ("DSR", "PSR against the best Sharpe ratio of as many strategies by luck"),
}


def bootstrap_ci(
    returns: pd.DataFrame,
    n_boot: int = 1000,
    mean_block: float = 21.0,
    level: float = 0.95,
    seed: int = 0,
    rf: pd.Series | None = None,
) -> pd.DataFrame:
    """Stationary-bootstrap percentile intervals of the annualised Sharpe ratio and CAGR.

    The same resampled day indices are used for every strategy, so their intervals are
    comparable.

    Parameters
    ----------
    returns : DataFrame of shape (n_days, n_strategies)
    n_boot : int
        Resamples.
    mean_block : float
        Mean block length in days (Politis & Romano 1994).
    level : float
    seed : int
    rf : Series, optional
        Daily risk-free rate on ``returns.index``: the Sharpe ratio is of the excess return
        (resampled on the same days), CAGR of the return itself.

    Returns
    -------
    DataFrame indexed by strategy with ``sharpe_lo, sharpe_hi, cagr_lo, cagr_hi``.
    """
    rng = np.random.default_rng(seed)
    x = returns.to_numpy(dtype=float)
    e = x if rf is None else x - rf.reindex(returns.index).to_numpy()[:, None]
    k, n = x.shape[1], len(x)
    # a resample's Sharpe ratio and growth need only sums: of e, e^2 and log(1 + r)
    sums = stationary_bootstrap_sums(np.hstack([e, e * e, np.log1p(x)]), mean_block, rng, n_boot)
    s1, s2, growth_log = sums[:, :k], sums[:, k : 2 * k], sums[:, 2 * k :]
    var = (s2 - s1 * s1 / n) / (n - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sr = np.where(var > 0, s1 / n / np.sqrt(np.where(var > 0, var, 1.0)), np.nan)
    sr = sr * np.sqrt(PERIODS)
    growth = np.exp(growth_log * PERIODS / n) - 1.0
    a = (1 - level) / 2 * 100
    out = pd.DataFrame(index=returns.columns)
    out["sharpe_lo"], out["sharpe_hi"] = np.nanpercentile(sr, [a, 100 - a], axis=0)
    out["cagr_lo"], out["cagr_hi"] = np.percentile(growth, [a, 100 - a], axis=0)
    return out


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Two return series equal to a policy's float32 rounding (an anchored policy before any
    update and its anchor: daily returns 1e-8 apart): the tests' variances vanish and their
    p-values would be noise, so there is no difference to test."""  # noqa: D205, D209
    return bool(np.max(np.abs(np.asarray(a) - np.asarray(b)), initial=0.0) < 1e-7)


def sharpe_difference_test(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Jobson-Korkie test of equal Sharpe ratios with Memmel's correction.

    ``z = (SR_a - SR_b) / sqrt(theta / T)`` with per-period ratios and
    ``theta = 2 (1 - rho) + (SR_a^2 + SR_b^2 - 2 SR_a SR_b rho^2) / 2``.

    Parameters
    ----------
    a, b : ndarray of shape (n_days,)
        Daily returns of two strategies over the same days.

    Returns
    -------
    (annualised Sharpe difference, two-sided p-value)

    References
    ----------
    Jobson, J. D. & Korkie, B. M. (1981). Performance hypothesis testing with the Sharpe and
    Treynor measures. Journal of Finance 36(4). Memmel, C. (2003). Performance hypothesis
    testing with the Sharpe ratio. Finance Letters 1.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    n = len(a)
    sa, sb = sharpe(a, periods=1), sharpe(b, periods=1)
    rho = np.corrcoef(a, b)[0, 1]
    theta = 2 * (1 - rho) + 0.5 * (sa**2 + sb**2 - 2 * sa * sb * rho**2)
    diff = (sa - sb) * np.sqrt(PERIODS)
    if theta <= 0 or _same(a, b):
        return float(diff), 1.0
    z = (sa - sb) / np.sqrt(theta / n)
    return float(diff), float(2 * special.ndtr(-abs(z)))


def _parzen(x: np.ndarray) -> np.ndarray:
    x = np.abs(x)
    return np.where(x <= 0.5, 1 - 6 * x**2 + 6 * x**3, np.where(x <= 1, 2 * (1 - x) ** 3, 0.0))


def _bartlett(x: np.ndarray) -> np.ndarray:
    return np.clip(1 - np.abs(x), 0.0, None)


def long_run_covariance(y: np.ndarray, kernel: str = "parzen", bandwidth: float | None = None):
    """Kernel (HAC) estimate of the long-run covariance of the rows of ``y`` (centred).

    ``Psi = G0 + sum_j k(j / S) (Gj + Gj')`` with ``Gj = sum_t y_t y_{t-j}' / T``; the Parzen
    kernel and, by default, Andrews' (1991) automatic bandwidth from AR(1) fits of each
    column, ``S = 2.6614 (alpha(2) T)^(1/5)``; the Bartlett kernel (Newey & West 1987) with
    ``S = lags + 1`` as an option.

    Parameters
    ----------
    y : ndarray of shape (T, m)
    kernel : {"parzen", "bartlett"}
    bandwidth : float, optional

    Returns
    -------
    ndarray of shape (m, m)

    References
    ----------
    Andrews, D. W. K. (1991). Heteroskedasticity and autocorrelation consistent covariance
    matrix estimation. Econometrica 59(3).
    """
    n = len(y)
    if bandwidth is None:
        rho = np.array([np.clip(np.polyfit(c[:-1], c[1:], 1)[0], -0.97, 0.97) for c in y.T])
        resid = np.array([np.var(c[1:] - r * c[:-1]) for c, r in zip(y.T, rho, strict=True)])
        alpha = np.sum(4 * rho**2 * resid**2 / (1 - rho) ** 8) / np.sum(resid**2 / (1 - rho) ** 4)
        bandwidth = 2.6614 * (alpha * n) ** 0.2
    weight = _parzen if kernel == "parzen" else _bartlett
    psi = y.T @ y / n
    for j in range(1, min(n - 1, int(np.ceil(bandwidth)) + 1)):
        w = float(weight(np.array(j / bandwidth)))
        if w == 0:
            break
        gamma = y[j:].T @ y[:-j] / n
        psi += w * (gamma + gamma.T)
    return psi


def hac_sharpe_test(
    a: np.ndarray, b: np.ndarray, kernel: str = "parzen", bandwidth: float | None = None
) -> tuple[float, float]:
    """Test of equal Sharpe ratios that allows for fat tails and serial correlation.

    Ledoit & Wolf (2008, §3.1): the difference ``f(v) = mu_a / sqrt(g_a - mu_a^2) - mu_b /
    sqrt(g_b - mu_b^2)`` of the first and second moments ``v = (mu_a, mu_b, g_a, g_b)``,
    its standard error by the delta method with a kernel (HAC) estimate of the moments'
    long-run covariance (`long_run_covariance`; Parzen kernel, Andrews' automatic
    bandwidth, without their prewhitening), and a two-sided normal p-value. The
    Jobson-Korkie-Memmel test assumes i.i.d. normal returns; this one does not.

    Parameters
    ----------
    a, b : ndarray of shape (n_days,)
        Daily (excess) returns of two strategies over the same days.

    Returns
    -------
    (annualised Sharpe difference, two-sided p-value)

    References
    ----------
    Ledoit, O. & Wolf, M. (2008). Robust performance hypothesis testing with the Sharpe
    ratio. Journal of Empirical Finance 15(5).

    Examples
    --------
    >>> import numpy as np
    >>> from portfolio_rl.backtest import hac_sharpe_test
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(0.001, 0.01, 1000), rng.normal(0.0, 0.01, 1000)
    >>> diff, p = hac_sharpe_test(a, b)
    >>> round(float(diff), 2), round(float(p), 3)
    (0.97, 0.157)
    """
    x = np.column_stack([a, b, a * a, b * b]).astype(float)
    if _same(a, b):
        return float((sharpe(a, periods=1) - sharpe(b, periods=1)) * np.sqrt(PERIODS)), 1.0
    v = x.mean(axis=0)
    mu_a, mu_b, g_a, g_b = v
    var_a, var_b = g_a - mu_a**2, g_b - mu_b**2
    diff = mu_a / np.sqrt(var_a) - mu_b / np.sqrt(var_b)
    grad = np.array(
        [g_a / var_a**1.5, -g_b / var_b**1.5, -mu_a / (2 * var_a**1.5), mu_b / (2 * var_b**1.5)]
    )
    psi = long_run_covariance(x - v, kernel, bandwidth)
    se = float(np.sqrt(max(grad @ psi @ grad, 0.0) / len(x)))
    annual = float(diff * np.sqrt(PERIODS))
    if se == 0:
        return annual, 1.0
    return annual, float(2 * special.ndtr(-abs(diff) / se))


def probabilistic_sharpe(returns: np.ndarray, benchmark_sr: float = 0.0) -> float:
    """Probability that the true Sharpe ratio exceeds ``benchmark_sr`` (per period).

    ``PSR = Phi((SR - SR*) sqrt(T - 1) / sqrt(1 - g3 SR + (g4 - 1)/4 SR^2))`` with skewness
    ``g3`` and (non-excess) kurtosis ``g4`` of the returns.

    References
    ----------
    Bailey, D. H. & López de Prado, M. (2012). The Sharpe ratio efficient frontier.
    Journal of Risk 15(2).
    """
    r = np.asarray(returns, float)
    sr = sharpe(r, periods=1)
    centred = r - r.mean()
    m2 = np.mean(centred**2)
    g3 = np.mean(centred**3) / m2**1.5  # skewness and kurtosis as moments (biased, like
    g4 = np.mean(centred**4) / m2**2  # scipy.stats.skew and kurtosis(fisher=False))
    denom = 1 - g3 * sr + (g4 - 1) / 4 * sr**2
    return float(special.ndtr((sr - benchmark_sr) * np.sqrt(len(r) - 1) / np.sqrt(denom)))


def deflated_sharpe(returns: np.ndarray, trial_srs: np.ndarray) -> float:
    """Deflated Sharpe ratio: PSR against the expected maximum Sharpe of N trials.

    ``SR* = sqrt(V) ((1 - gamma) Phi^-1(1 - 1/N) + gamma Phi^-1(1 - 1/(N e)))``, with V the
    variance of the per-period Sharpe ratios of the N strategies tried.

    References
    ----------
    Bailey, D. H. & López de Prado, M. (2014). The deflated Sharpe ratio: correcting for
    selection bias, backtest overfitting and non-normality. Journal of Portfolio Management
    40(5).
    """
    trial_srs = np.asarray(trial_srs, float)
    n = len(trial_srs)
    if n < 2:
        return probabilistic_sharpe(returns)
    var = np.var(trial_srs, ddof=1)
    sr_star = np.sqrt(var) * (
        (1 - EULER_GAMMA) * special.ndtri(1 - 1 / n)
        + EULER_GAMMA * special.ndtri(1 - 1 / (n * np.e))
    )
    return probabilistic_sharpe(returns, sr_star)


def tail_intervals(
    returns: pd.DataFrame,
    n_boot: int = 1000,
    mean_block: float = 21.0,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Stationary-bootstrap percentile intervals of the daily CVaR (95%) and the max drawdown.

    Both depend on the order and the whole shape of the path, so every resample is drawn in
    full (paired: the same day indices for every strategy), one strategy at a time.

    Parameters
    ----------
    returns : DataFrame of shape (n_days, n_strategies)
    n_boot, mean_block, level, seed
        As `bootstrap_ci`.

    Returns
    -------
    DataFrame indexed by strategy with ``cvar_lo, cvar_hi, mdd_lo, mdd_hi``.
    """
    x = returns.dropna().to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    idx = stationary_bootstrap_indices(len(x), len(x), mean_block, rng, n_boot)
    a = (1 - level) / 2 * 100
    out = pd.DataFrame(index=returns.columns, columns=["cvar_lo", "cvar_hi", "mdd_lo", "mdd_hi"])
    for j, name in enumerate(returns.columns):
        paths = x[idx, j]  # (n_boot, n_days)
        tails = [cvar(paths), max_drawdown(paths)]
        out.loc[name] = [q for v in tails for q in np.percentile(v, [a, 100 - a])]
    return out.astype(float)


def compute_stats(
    returns: pd.DataFrame,
    reference: str | None = "equal_weight",
    best_robust: str | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    rf: pd.Series | None = None,
    anchor_of: dict[str, str] | None = None,
    comparator: str | None = None,
) -> pd.DataFrame:
    """The statistics table of a run.

    Parameters
    ----------
    returns : DataFrame of shape (n_days, n_strategies)
    reference : str, optional
        Strategy every other is tested against (1/N).
    best_robust : str, optional
        The best robust baseline, also tested against.
    n_boot, seed
        Bootstrap settings.
    rf : Series, optional
        Daily risk-free rate: Sharpe ratios, their tests, PSR and DSR are of excess returns.
    anchor_of : dict, optional
        Anchored policy -> the strategy of its anchor (``anchor_<spec>``): each is also
        tested against the optimizer it started from (``*_vs_anchor``; empty elsewhere).
    comparator : str, optional
        The strategy the experiment named before the test (``*_vs_comparator``, and its
        name in a ``comparator`` column).

    Returns
    -------
    DataFrame indexed by strategy: bootstrap intervals, Sharpe differences and p-values
    against the reference, the best robust baseline and (anchored policies) their anchor
    (Jobson-Korkie-Memmel ``p_vs_*`` and Ledoit-Wolf HAC ``p_hac_vs_*``, the one the verdict
    quotes), PSR (vs 0) and DSR (given all the strategies in the table as the trials).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from portfolio_rl.backtest import compute_stats
    >>> daily = np.random.default_rng(0).normal(0.0005, 0.01, (750, 2))
    >>> returns = pd.DataFrame(daily, pd.bdate_range("2020", periods=750), ["1/N", "mv"])
    >>> stats = compute_stats(returns, reference="1/N", n_boot=200)
    >>> round(float(stats.loc["mv", "p_hac_vs_ew"]), 2)
    0.5
    """
    raw = returns.dropna()
    out = bootstrap_ci(raw, n_boot=n_boot, seed=seed, rf=rf)
    r = raw if rf is None else raw.sub(rf.reindex(raw.index), axis=0)
    per_period = np.array([sharpe(r[c].to_numpy(), periods=1) for c in r])
    pairs = (("ew", reference), ("best_robust", best_robust), ("comparator", comparator))
    for label, other in pairs:
        if other is None or other not in r:
            continue
        tests = [sharpe_difference_test(r[c].to_numpy(), r[other].to_numpy()) for c in r]
        out[f"sr_diff_vs_{label}"] = [t[0] for t in tests]
        out[f"p_vs_{label}"] = [t[1] for t in tests]
        hac = [hac_sharpe_test(r[c].to_numpy(), r[other].to_numpy()) for c in r]
        out[f"p_hac_vs_{label}"] = [t[1] for t in hac]
        for key in ("sr_diff_vs_", "p_vs_", "p_hac_vs_"):  # a strategy is no test of itself
            out.loc[other, f"{key}{label}"] = np.nan
    if anchor_of:
        for key in ("sr_diff_vs_anchor", "p_vs_anchor", "p_hac_vs_anchor"):
            out[key] = np.nan
        out["anchor"] = ""
        for c, other in anchor_of.items():
            out.loc[c, "anchor"] = other
            a, b = r[c].to_numpy(), r[other].to_numpy()
            out.loc[c, ["sr_diff_vs_anchor", "p_vs_anchor"]] = sharpe_difference_test(a, b)
            out.loc[c, "p_hac_vs_anchor"] = hac_sharpe_test(a, b)[1]
    if comparator is not None and comparator in r:
        out["comparator"] = comparator
    out["psr"] = [probabilistic_sharpe(r[c].to_numpy()) for c in r]
    out["dsr"] = [deflated_sharpe(r[c].to_numpy(), per_period) for c in r]
    if best_robust is not None:
        out.attrs["best_robust"] = best_robust
    return out
