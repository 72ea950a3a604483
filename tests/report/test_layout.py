import matplotlib
import pandas as pd

from portfolio_rl.backtest.stats import STATS_FIELDS
from portfolio_rl.report.layout import PAGE, table

matplotlib.use("Agg")


def test_long_headers_wrap_and_fit_their_columns():
    import matplotlib.pyplot as plt

    heads = [label for label, _ in STATS_FIELDS.values()]
    frame = pd.DataFrame(
        [["[0.31, 1.52]", "[5.1%, 20.3%]", *["0.55"] * (len(heads) - 2)]] * 12,
        index=[f"strategy_{i}" for i in range(12)],
        columns=heads,
    )
    fig = plt.figure(figsize=PAGE)
    ax = fig.add_axes([0.04, 0.5, 0.92, 0.36])
    table(ax, frame, font=8)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    cells = ax.tables[0].get_celld()
    assert any("\n" in cells[0, c].get_text().get_text() for c in range(len(heads) + 1))
    assert cells[0, 0].get_height() > 1.5 * cells[1, 0].get_height()
    for c in range(len(heads) + 1):
        text = cells[0, c].get_text().get_window_extent(renderer)
        box = cells[0, c].get_window_extent(renderer)
        assert box.x0 <= text.x0 and text.x1 <= box.x1, cells[0, c].get_text().get_text()
        assert box.y0 <= text.y0 and text.y1 <= box.y1
    plt.close(fig)
