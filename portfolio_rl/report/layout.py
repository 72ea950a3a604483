"""The page frame and the table every report page shares."""

from __future__ import annotations

import numpy as np
import pandas as pd

from portfolio_rl.report import charts
from portfolio_rl.report.run import Run

PAGE = (11.69, 8.27)  # A4 landscape, inches
#: The longest title at full size that ends before the page number on the right (bold
#: 17 pt is about 0.15 in a character); a longer one is set smaller.
TITLE_CHARS = 62


def page(title: str, run: Run):
    """A page with its title; the writer adds the page number (pages without content are
    left out, so numbers are given at the end)."""  # noqa: D205, D209
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=PAGE)
    size = min(17.0, 17.0 * TITLE_CHARS / max(len(title), 1))  # clear of the page number
    fig.text(0.04, 0.955, title, fontsize=size, weight="bold", color="#1f2d3d")
    fig.add_artist(plt.Line2D([0.04, 0.96], [0.94, 0.94], color="#1f2d3d", lw=0.8))
    return fig


def table(
    ax,
    frame: pd.DataFrame,
    colour_of: dict[str, str] | None = None,
    font: float = 8.0,
    first_col: str = "Strategy",
) -> None:
    """Draw ``frame`` filling ``ax``: rows share its height, columns sized by their text.

    A header longer than its column's cells wraps onto more lines (at least 10 characters
    wide), and the header row is as many rows high, so that wide tables of short numbers
    (the statistics page) fit the page instead of clipping their headers.
    """
    import textwrap

    ax.axis("off")
    heads = [first_col, *map(str, frame.columns)]
    cells = [[idx, *row] for idx, row in zip(frame.index, frame.to_numpy().tolist(), strict=True)]
    body = [
        max((len(str(x)) for x in col[1:]), default=0) for col in zip(heads, *cells, strict=True)
    ]
    labels = [
        textwrap.fill(head, max(10, width), break_long_words=False)
        for head, width in zip(heads, body, strict=True)
    ]
    lines = [label.split("\n") for label in labels]
    chars = [max(width, *map(len, head)) for width, head in zip(body, lines, strict=True)]
    widths = np.array(chars, dtype=float) + 2
    table = ax.table(
        cellText=cells,
        colLabels=labels,
        colWidths=list(widths / widths.sum()),
        bbox=[0, 0, 1, 1],
        cellLoc="right",
        colLoc="center",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(font)
    header_lines = max(map(len, lines))
    for (r, c), cell in table.get_celld().items():
        cell.set_edgecolor("#dddddd")
        if r == 0:
            cell.set_facecolor("#1f2d3d")
            cell.set_text_props(color="white", weight="bold")
            cell.set_height(cell.get_height() * header_lines)  # the bbox rescales the rows
        elif r % 2 == 0:
            cell.set_facecolor("#f5f7fa")
        if c == 0 and r > 0:
            cell.set_text_props(
                ha="left", weight="bold", color=charts.colour_for(cells[r - 1][0], colour_of or {})
            )
            cell._loc = "left"
