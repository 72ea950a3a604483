"""The typer app, its error handling and the helpers every command shares.

Flags in, typed configs to [`portfolio_rl.workflows.pipeline`][], results to
[`portfolio_rl.cli.console`][].
Expected failures (bad input, missing data, a failed download or solve, a diverging run)
end with one ``error:`` line on stderr and a non-zero exit code; ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from portfolio_rl.cli import console
from portfolio_rl.errors import ConfigError, PortfolioRLError

app = typer.Typer(
    help="Portfolio allocation with GRPO against robust-optimization baselines.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

_state = {"debug": False}
F = TypeVar("F", bound=Callable[..., Any])


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    console.warning(str(message))


def command(func: F) -> F:
    """Turn expected failures into one line on stderr and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        warnings.showwarning = _show_warning
        try:
            return func(*args, **kwargs)
        except PortfolioRLError as exc:
            if _state["debug"]:
                raise
            console.error(str(exc))
            raise typer.Exit(code=2) from None
        except KeyboardInterrupt:
            console.say("interrupted")
            raise typer.Exit(code=130) from None
        except typer.Exit:
            raise
        except OSError as exc:  # a full disk, a permission, a file in the way: nothing is lost
            if _state["debug"]:
                raise
            where = f": {exc.filename}" if exc.filename else ""
            console.error(f"{exc.strerror or exc}{where} (the previous files are unchanged)")
            raise typer.Exit(code=2) from None
        except Exception as exc:
            if _state["debug"]:
                raise
            msg = str(exc).splitlines()[0] if str(exc) else ""
            console.say(
                f"internal error: {type(exc).__name__}: {msg} (rerun with --debug for details)"
            )
            raise typer.Exit(code=1) from None

    return wrapper  # type: ignore[return-value]


CashFlag = Annotated[
    bool | None,
    typer.Option(
        "--cash/--no-cash",
        help="Hold cash as an asset earning the risk-free rate, where portfolios start; RL "
        "policies get an exposure head (default: the config's `cash:`).",
    ),
]


#: ``--force`` of the commands that write a run folder (backtest, train).
ForceFlag = Annotated[
    bool,
    typer.Option(
        help="Replace an existing run folder in --out, at the end and whole, if portfolio-rl "
        "wrote every file in it (its manifest.json); a folder holding anything else "
        "is refused, never emptied."
    ),
]
SetFlag = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="Any experiment setting by its path, e.g. --set constraints.max_weight=0.1 "
        "--set rl.fold_iterations=10 (the value is read as YAML); repeatable.",
    ),
]
ThreadsFlag = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=1024,
        help="CPU cores to use: trainings run in this many worker processes, one thread "
        "each (default: the cores no other process is busy on). Results do not depend on it.",
    ),
]


@app.callback()
def _root(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show full tracebacks instead of one-line errors.")
    ] = False,
) -> None:
    _state["debug"] = debug


def parse_names(text: str) -> tuple[str, ...]:
    """A comma-separated list from a flag, blanks dropped, each name once."""
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ConfigError(f"{', '.join(repeated)} given more than once")
    return names


def strategy_names(text: str, with_policies: bool) -> tuple[str, ...]:
    """--strategies: baseline names; an algorithm's name is refused with where policies go."""
    from portfolio_rl.agents.registry import ALGORITHMS

    names = parse_names(text)
    algos = [n for n in names if n in ALGORITHMS]
    if algos and not with_policies:
        raise ConfigError(
            f"{', '.join(algos)} is a trained policy, not a baseline: add it with "
            "--policy DIR (a folder written by `portfolio-rl train`)"
        )
    return tuple(n for n in names if n not in ALGORITHMS)


def policy_folders(folders: list[Path]) -> list[Path]:
    """--policy: a training folder; a run directory is refused with the folders it holds."""
    for folder in folders:
        if (folder / "policy.pt").is_file():
            continue
        inside = sorted(p.parent for p in folder.glob("policies/*/policy.pt"))
        folds = sorted(p.parent for p in folder.glob("fold-*/policy.pt"))
        folds += sorted(p.parent for p in folder.glob("policies/*/fold-*/policy.pt"))
        if inside:
            listing = ", ".join(str(p) for p in inside[:6])
            raise ConfigError(
                f"{folder} is a run directory; pass one of its trained policies: {listing}"
            )
        if folds:
            raise ConfigError(
                f"{folder} holds {len(folds)} walk-forward folds ({folds[0].name} .. "
                f"{folds[-1].name}), each a policy for its own years: pass one of them (e.g. "
                f"{folds[-1]}), or redraw the run's report with portfolio-rl report"
            )
    return folders


def whole_numbers(text: str) -> list[int]:
    """--seeds 0,1,2 as integers (one error line if one is not)."""
    try:
        return [int(x) for x in parse_names(text)]
    except ValueError:
        raise ConfigError(f"--seeds takes whole numbers, comma-separated, got {text!r}") from None


def parse_settings(pairs: list[str], experiment: bool = False) -> dict[str, object]:
    """``--set KEY=VALUE`` flags as a mapping; each value is read as YAML (numbers, lists).

    Training settings by name (``lr``), or ``experiment`` settings by dotted path
    (``constraints.max_weight``).
    """
    import yaml

    out: dict[str, object] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {pair!r}: expected KEY=VALUE, e.g. --set lr=0.01")
        if key in ("algo", "seed") and not experiment:
            raise ConfigError(f"--set {key}: use --{key}")
        try:
            out[key] = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ConfigError(f"--set {pair!r}: the value is not valid YAML") from None
    return out
