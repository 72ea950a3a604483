"""Command line: ``portfolio-rl`` (or ``python -m portfolio_rl``).

Flags in, typed configs to :mod:`portfolio_rl.pipeline`, results to :mod:`portfolio_rl.console`.
Expected failures (bad input, missing data, a failed download or solve, a diverging run)
end with one ``error:`` line on stderr and a non-zero exit code; ``--debug`` shows the
traceback instead. Each command imports what it needs when it runs, so ``--help`` is instant.
"""

from portfolio_rl.cli import commands, data  # noqa: F401  (register the commands)
from portfolio_rl.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``portfolio-rl`` script."""
    app()
