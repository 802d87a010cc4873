"""matplotlib's non-interactive Agg backend, with a `show()` that discards the figures (nothing would see them)."""

from matplotlib.backend_bases import FigureManagerBase as FigureManager
from matplotlib.backends.backend_agg import FigureCanvasAgg as FigureCanvas

__all__ = ["FigureCanvas", "FigureManager", "show"]


def show(*args: object, **kwargs: object) -> None:
    import matplotlib.pyplot as plt

    plt.close("all")
