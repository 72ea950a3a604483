"""Command line: ``portfolio-rl`` (or ``python -m portfolio_rl``).

Flags in, typed configs to [`portfolio_rl.workflows.pipeline`][], results to
[`portfolio_rl.cli.console`][].
Expected failures (bad input, missing data, a failed download or solve, a diverging run)
end with one ``error:`` line on stderr and a non-zero exit code; ``--debug`` shows the
traceback instead. Each command imports what it needs when it runs, so ``--help`` is instant.
"""

# the order of registration is the order of `portfolio-rl --help`
from portfolio_rl.cli import train, commands, allocate, sweep, settings, data  # noqa: F401, I001
from portfolio_rl.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``portfolio-rl`` script.

    Usage errors (an unknown option, a value out of range) are one ``error:`` line and exit
    2 like every other bad input; SIGTERM unwinds like Ctrl-C, so temporary files and
    half-written run directories are removed. Once a command has returned (every file it
    wrote is closed and renamed into place), the process ends without tearing down the
    interpreter: a tenth of a short backtest's wall time went to freeing modules at exit.
    """
    import os
    import signal
    import sys

    import typer

    from portfolio_rl.cli import console

    # click's UsageError, from typer's public BadParameter (typer may carry its own click)
    usage_error = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    try:
        code = app(standalone_mode=False)
    except usage_error as exc:
        console.error(exc.format_message().splitlines()[0])
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        console.say("interrupted")
        sys.exit(130)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code if isinstance(code, int) else 0)
