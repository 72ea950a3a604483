"""Where bundled data, caches and outputs live, and safe names for user-given parts of paths."""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from portfolio_rl.errors import PortfolioRLError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


#: The process's umask, read once: files and run directories get the usual modes.
UMASK = _umask()
PACKAGE_DIR = Path(__file__).resolve().parents[1]
CHECKOUT_DIR = PACKAGE_DIR.parent
#: Windows device names: refused as tickers and run names (the files cannot exist there).
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"{d}{i}" for d in ("COM", "LPT") for i in range(1, 10))}
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
    if name.split(".")[0].upper() in _RESERVED:
        raise PortfolioRLError(f"invalid {what} {name!r}: a reserved device name on Windows")
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
    tmp_path.chmod(0o666 & ~UMASK)  # mkstemp makes it 0600: honour the umask instead
    try:
        write(tmp_path)
        os.replace(tmp_path, path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


#: The list of what portfolio-rl wrote into a folder: ``--force`` replaces only such folders.
MANIFEST = "manifest.json"


def write_manifest(folder: Path, kind: str, only: Callable[[str], bool] | None = None) -> None:
    """Record the files now in ``folder`` as written by portfolio-rl (``manifest.json``).

    ``only(relative_path)`` keeps a file out of the record when False (a run continued in
    place records only what it wrote and what the record already held).
    """
    files = [rel for rel in _files(Path(folder)) if only is None or only(rel)]
    text = json.dumps({"tool": "portfolio-rl", "kind": kind, "files": files}, indent=1)
    atomic_write_text(folder / MANIFEST, text + "\n")


def foreign_files(folder: Path, owned: tuple[str, ...] = ()) -> list[str] | None:
    """Files in ``folder`` that portfolio-rl did not write; None when it has no manifest.

    A file counts as the tool's when ``manifest.json`` lists it or it lies under one of the
    ``owned`` top-level folders (a sweep's Ray state, which Ray writes as it goes).
    """
    folder = Path(folder)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
        listed = set(manifest["files"]) if manifest.get("tool") == "portfolio-rl" else None
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        listed = None
    if listed is None:
        return None
    return [r for r in _files(folder) if r not in listed and r.split("/")[0] not in owned]


def _files(folder: Path) -> list[str]:
    """Every file (or link) below ``folder`` but its own manifest, as sorted relative paths."""
    return [
        path.relative_to(folder).as_posix()
        for path in sorted(folder.rglob("*"))
        if not (path.is_dir() and not path.is_symlink()) and path != folder / MANIFEST
    ]


def check_replaceable(folder: Path, owned: tuple[str, ...] = ()) -> None:
    """Refuse ``--force`` on a folder holding anything portfolio-rl did not write.

    ``--force`` replaces a folder only when its ``manifest.json`` says this tool wrote
    every file in it: a user's notes or data in a run folder are never deleted.
    """
    foreign = foreign_files(folder, owned)
    if foreign is None:
        raise PortfolioRLError(
            f"{folder} is not a folder portfolio-rl wrote (no {MANIFEST}); --force replaces "
            f"only those: remove it yourself or choose another --out"
        )
    if foreign:
        shown = ", ".join(foreign[:5]) + (
            f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
        )
        raise PortfolioRLError(
            f"{folder} holds files portfolio-rl did not write ({shown}); --force would delete "
            f"them: move them out or choose another --out"
        )


def check_file_replaceable(path: Path, force: bool, ours: Callable[[bytes], bool]) -> None:
    """Refuse to write over an existing file unless ``force`` and it is portfolio-rl's.

    ``ours`` reads the file's first and last 64 KiB (where a report keeps its mark):
    ``--force`` replaces a report that portfolio-rl wrote, never a user's file of that name.
    """
    path = Path(path)
    if not path.exists():
        return
    if not force:
        raise PortfolioRLError(f"{path} already exists; pass --force to replace it")
    try:
        ends = b""
        if path.is_file():  # a marker sits near the start (markdown) or the end (PDF info)
            with path.open("rb") as f:
                ends = f.read(1 << 16)
                f.seek(max(f.seek(0, os.SEEK_END) - (1 << 16), 0))
                ends += f.read()
    except OSError as exc:
        raise PortfolioRLError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not ours(ends):
        raise PortfolioRLError(
            f"{path} was not written by portfolio-rl; --force replaces only its own reports: "
            "choose another name"
        )


def run_dir_path(out: str | Path | None, kind: str, force: bool = False) -> Path:
    """Where a run goes: ``out``, or ``runs_dir()/<timestamp>-<kind>``; nothing is created.

    An existing non-empty folder is an error unless ``force`` and it is a run folder that
    portfolio-rl wrote whole (`check_replaceable`); an existing file is an error either way.
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
    try:
        if path.exists() and not path.is_dir():
            raise PortfolioRLError(f"{path} is a file, not a run directory; choose another --out")
        if path.exists() and any(path.iterdir()):
            if not force:
                raise PortfolioRLError(
                    f"{path} already exists; choose another --out or pass --force"
                )
            check_replaceable(path)
    except OSError as exc:  # a symbolic-link loop, a folder we may not read
        raise PortfolioRLError(f"cannot use {path} as --out: {exc.strerror or exc}") from None
    return path


def _take_lock(lock: Path) -> int | None:
    """An OS lock on the file ``lock`` (made if missing); None when another process holds it."""
    import fcntl

    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666 & ~UMASK)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        try:  # the file we locked must still be the one at that path (its holder unlinks it)
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)


def _drop_lock(lock: Path, fd: int) -> None:
    Path(lock).unlink(missing_ok=True)  # while still held: no lock file is left behind
    os.close(fd)


#: A staging folder of `staged_run_dir` for the run folder ``name`` (group 1).
_STAGING = re.compile(r"^\.(.+)\.[A-Za-z0-9_]{8}\.partial(\.old)?$")


def clean_orphans(parent: Path) -> None:
    """Remove the staging folders and lock files that killed runs left in ``parent``.

    A staging folder ``.NAME.*.partial`` lives only while a process holds ``.NAME.lock``;
    one whose lock nobody holds was left by a run that died (``kill -9``, a power cut).
    """
    import shutil

    try:
        entries = list(Path(parent).iterdir())
    except OSError:
        return
    names = {m.group(1) for e in entries if (m := _STAGING.match(e.name))}
    names |= {e.name[1:-5] for e in entries if e.name.startswith(".") and e.name.endswith(".lock")}
    for name in names:
        lock = Path(parent) / f".{name}.lock"
        fd = _take_lock(lock)
        if fd is None:  # a live run
            continue
        try:
            for entry in entries:
                match = _STAGING.match(entry.name)
                if match and match.group(1) == name and entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
        finally:
            _drop_lock(lock, fd)


@contextmanager
def folder_lock(final: Path) -> Iterator[None]:
    """Hold the one-writer lock of a run folder: an OS lock on ``.<name>.lock`` beside it.

    A second process that wants to write the same folder fails at once with one clear line
    (its own run is not started, the first run stays whole); the OS releases the lock when
    the holder exits, however it exits. The holder removes the file before it lets go, and
    a process that locked a file already removed tries again on the new one.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    lock = final.parent / f".{final.name}.lock"
    fd = _take_lock(lock)
    if fd is None:
        raise PortfolioRLError(
            f"another portfolio-rl process is writing {final}; wait for it to finish or "
            "choose another --out"
        )
    try:
        yield
    finally:
        _drop_lock(lock, fd)


@contextmanager
def staged_run_dir(
    out: str | Path | None, kind: str, force: bool = False
) -> Iterator[tuple[Path, Path]]:
    """Write a run directory as a unit: into a hidden sibling, renamed into place at the end.

    Yields ``(staging, final)``: write into the first. On success it writes the folder's
    ``manifest.json`` and replaces ``out`` whole (with ``force``, only a run folder of
    portfolio-rl's own, `check_replaceable`: the old run goes); on an error the staging folder
    is removed and ``out`` is as it was: the old run, or nothing. One process at a time
    writes a folder (`folder_lock`); an ``out`` that is a symbolic link is replaced where it
    points, and the link stays.
    """
    import shutil

    final = run_dir_path(out, kind, force)
    if final.is_symlink():
        try:
            final = final.resolve()
        except (OSError, RuntimeError):  # RuntimeError: a loop of symbolic links
            raise PortfolioRLError(f"cannot use {out} as --out: its symbolic links loop") from None
    clean_orphans(final.parent)
    with folder_lock(final):
        final = run_dir_path(final, kind, force)  # checked again under the lock
        staging = Path(
            tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent)
        )
        staging.chmod(0o777 & ~UMASK)  # mkdtemp makes it private; a run dir is like any other
        try:
            yield staging, final
            write_manifest(staging, kind)
            old = None
            if final.exists():
                old = final.parent / f"{staging.name}.old"
                os.replace(final, old)
            os.replace(staging, final)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
