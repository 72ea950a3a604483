"""Markdown tables: what the docs include from ``settings``, ``report --markdown`` and ``bench``."""

from __future__ import annotations

from collections.abc import Sequence


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured markdown table; ``|`` inside a cell is escaped.

    Examples
    --------
    >>> print(markdown_table(["name", "value"], [["lr", 0.003]]))
    | name | value |
    |---|---|
    | lr | 0.003 |
    """

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(map(cell, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in rows]
    return "\n".join(lines)
