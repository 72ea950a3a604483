"""The PDF report of a run directory and its plain-language verdict."""

from portfolio_rl.plumbing.lazy import lazy_exports

__getattr__, __all__ = lazy_exports(
    __name__,
    {"make_report": "portfolio_rl.report.pdf", "verdict": "portfolio_rl.report.verdicts"},
)
