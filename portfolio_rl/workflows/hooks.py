"""How the workflows report progress: stage lines and bars, drawn by whoever calls them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass


@contextmanager
def _no_bar(label: str, total: int | None = None) -> Iterator[Callable[..., None]]:
    yield lambda *args, **kwargs: None


@dataclass(frozen=True)
class Hooks:
    """How the pipeline reports progress.

    Attributes
    ----------
    stage : callable
        ``stage(message)`` at each stage of a long job.
    bar : callable
        ``bar(label, total)`` -> a context manager yielding ``update(done, total, figures)``.
    """

    stage: Callable[[str], None] = lambda message: None
    bar: Callable[[str, int | None], AbstractContextManager[Callable[..., None]]] = _no_bar


SILENT = Hooks()
