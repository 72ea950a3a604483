"""The PDF report of a run directory (matplotlib, vector graphics), written atomically.

Everything is read from the run directory, so ``portfolio-rl report RUN_DIR`` can redraw
any run; the pages are in [`portfolio_rl.report.pages`][].
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from portfolio_rl.errors import PortfolioRLError
from portfolio_rl.plumbing.files import atomic_write, check_file_replaceable
from portfolio_rl.report import appendix, benchmark, pages, steering
from portfolio_rl.report.charts import colours
from portfolio_rl.report.run import Run

#: The report's pages in order; a page returns None when the run has nothing for it.
PAGES = (
    pages.page_summary,
    appendix.page_against,
    pages.page_wealth,
    pages.page_rolling,
    pages.page_weights,
    appendix.page_exposure,
    steering.page_steering,
    appendix.page_robust,
    pages.page_training,
    appendix.page_folds,
    pages.page_stats,
    benchmark.page_benchmark,
    pages.page_limitations,
    pages.page_glossary,
    appendix.page_sweep,
    appendix.page_seeds,
)


#: The PDF's author: ``--force`` replaces a PDF only when it carries this mark.
AUTHOR = "portfolio-rl"
AUTHOR_MARK = f"/Author ({AUTHOR})".encode()


def make_report(run_dir: str | Path, pdf: str | Path, force: bool = False) -> Path:
    """Write the report of ``run_dir`` to ``pdf`` (atomically; never over a file unless forced).

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from portfolio_rl.report import make_report
    >>> from portfolio_rl.workflows import backtest, load_experiment
    >>> from portfolio_rl.plumbing.typed import replace
    >>> exp = replace(load_experiment("backtests/sp500.yaml"), strategies=["equal_weight"])
    >>> folder = Path(tempfile.mkdtemp())
    >>> done = backtest(exp, out=folder / "run")
    >>> make_report(done.run_dir, folder / "report.pdf").stat().st_size > 10_000
    True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    pdf = Path(pdf)
    if pdf.suffix.lower() != ".pdf":
        raise PortfolioRLError(f"{pdf}: a report is a PDF; give a name ending in .pdf")
    check_file_replaceable(pdf, force, lambda head: AUTHOR_MARK in head)
    run = Run(Path(run_dir))
    colour_of = colours(list(run.returns.columns))
    meta = {
        "Title": f"portfolio-rl report: {run.config.get('name', 'run')}",
        "Author": AUTHOR,
        "Subject": "GRPO portfolio allocation vs robust-optimization baselines, walk-forward test",
        "Keywords": "GRPO, portfolio, robust optimization, backtest",
        "CreationDate": datetime.now(),
    }
    style = {
        "pdf.fonttype": 42,
        "font.family": "DejaVu Sans",
        "axes.titlesize": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }

    def write(tmp: Path) -> None:
        with plt.rc_context(style), PdfPages(tmp, metadata=meta) as doc:
            number = 0
            for page in PAGES:
                fig = page(run, colour_of)
                if fig is None:  # nothing of that kind in this run
                    continue
                number += 1
                label = f"{run.config.get('name', 'run')}  ·  page {number}"
                fig.text(0.96, 0.955, label, fontsize=9, ha="right", color="#555555")
                doc.savefig(fig)
                plt.close(fig)

    import warnings
    import zlib

    try:
        with warnings.catch_warnings():  # matplotlib's legend and glyph notes are not ours
            warnings.filterwarnings("ignore", module="matplotlib")
            atomic_write(pdf, write)
    except (OSError, zlib.error) as exc:  # a full disk shows up as either
        raise PortfolioRLError(
            f"could not write {pdf}: {exc}; the run directory {run_dir} is complete "
            f"(portfolio-rl report {run_dir} draws it again)"
        ) from None
    return pdf
