"""Where bundled data, caches and outputs live, and safe names for user-given parts of paths."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from portfolio_rl.errors import PortfolioRLError

PACKAGE_DIR = Path(__file__).resolve().parent
CHECKOUT_DIR = PACKAGE_DIR.parent
_SAFE_NAME = re.compile(r"^[A-Za-z0-9^][A-Za-z0-9._=^-]{0,63}$")


def from_checkout() -> bool:
    """Whether the package runs from a source checkout (``data/`` beside the package)."""
    return (CHECKOUT_DIR / "data" / "sp500_dataset.csv.gz").is_file()


def data_dir() -> Path:
    """Folder of the bundled datasets: ``data/`` in a checkout, else ``portfolio_rl/_data``."""
    return CHECKOUT_DIR / "data" if from_checkout() else PACKAGE_DIR / "_data"


def cache_dir(override: str | Path | None = None) -> Path:
    """Download cache: ``override``, else ``$PORTFOLIO_RL_CACHE``, else ``data/cache`` in a
    checkout, else the user cache directory (``$XDG_CACHE_HOME/portfolio-rl``)."""  # noqa: D205, D209
    if override is not None:
        return Path(override)
    if env := os.environ.get("PORTFOLIO_RL_CACHE"):
        return Path(env)
    if from_checkout():
        return CHECKOUT_DIR / "data" / "cache"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "portfolio-rl"


def runs_dir() -> Path:
    """Default parent of run directories: ``backtests/runs`` in a checkout, else ``./runs``."""
    return CHECKOUT_DIR / "backtests" / "runs" if from_checkout() else Path.cwd() / "runs"


def reports_dir() -> Path:
    """Default folder of PDF reports: ``reports/`` in a checkout, else ``./reports``."""
    return CHECKOUT_DIR / "reports" if from_checkout() else Path.cwd() / "reports"


def safe_name(name: str, what: str = "name") -> str:
    """Return ``name`` if it can be one path component, else raise a one-line error.

    Tickers and run names become file names; this keeps them inside their folder
    (no separators, no ``..``, no leading dot).
    """
    if not _SAFE_NAME.match(name) or ".." in name:
        raise PortfolioRLError(
            f"invalid {what} {name!r}: use letters, digits and . _ - = ^ (at most 64 characters)"
        )
    return name


def child_path(folder: Path, name: str, suffix: str = "", what: str = "name") -> Path:
    """``folder / (name + suffix)``, guaranteed to stay inside ``folder``."""
    path = (folder / f"{safe_name(name, what)}{suffix}").resolve()
    if path.parent != folder.resolve():
        raise PortfolioRLError(f"invalid {what} {name!r}: it leaves {folder}")
    return path


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write a file atomically: ``write(tmp)`` into a temporary file beside it, then rename.

    An interrupted or failed write leaves the previous file (or none), never a partial one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def new_run_dir(out: str | Path | None, kind: str, force: bool = False) -> Path:
    """The folder a run writes to: ``out``, or ``runs_dir()/<timestamp>-<kind>``.

    An existing non-empty folder is an error unless ``force`` (never overwrite a run).
    """
    import time

    if out is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = child_path(runs_dir(), f"{stamp}-{kind}", what="run name")
        n = 1
        while path.exists():
            n += 1
            path = child_path(runs_dir(), f"{stamp}-{kind}-{n}", what="run name")
    else:
        path = Path(out)
    if path.exists() and (not path.is_dir() or any(path.iterdir())) and not force:
        raise PortfolioRLError(f"{path} already exists; choose another --out or pass --force")
    path.mkdir(parents=True, exist_ok=True)
    return path
