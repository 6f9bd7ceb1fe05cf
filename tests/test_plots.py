"""Training-history plots: the epoch axis shows whole epochs, also for a one-epoch run."""

import pandas as pd
import pytest

from aiducation.plots import plot_history


@pytest.mark.parametrize("epochs", [1, 3, 30])
def test_history_axis_shows_whole_epochs(epochs: int) -> None:
    log = pd.DataFrame(
        {
            "epoch": range(1, epochs + 1),
            "train_loss": [1.0] * epochs,
            "val_loss": [1.1] * epochs,
            "val_accuracy": [0.5] * epochs,
        }
    )
    figure = plot_history(log)
    figure.canvas.draw()
    for ax in figure.axes:
        low, high = ax.get_xlim()
        assert low <= 1 and high >= epochs and high - low >= 1  # not 0.96 to 1.04
        ticks = [t for t in ax.get_xticks() if low <= t <= high]
        assert ticks and all(float(t).is_integer() for t in ticks)
        assert 1 in ticks or epochs > 1
