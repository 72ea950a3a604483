"""Public names of a package that load on first use (PEP 562), so importing it stays cheap."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def lazy_exports(package: str, names: dict[str, str]) -> tuple[Callable[[str], Any], list[str]]:
    """A package's ``__getattr__`` and ``__all__`` for names defined in its submodules.

    Parameters
    ----------
    package : str
        The package's ``__name__`` (for the error message).
    names : dict
        ``public name -> module`` that defines it; the module is imported on first access,
        so ``import portfolio_rl.agents`` does not import torch until a trainer is used.

    Returns
    -------
    (__getattr__, __all__)
    """

    def __getattr__(name: str) -> Any:
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(names[name]), name)

    return __getattr__, sorted(names)
