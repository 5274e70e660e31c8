"""Frames of a livn_rl env: the raster of the recent windows, the MEA map of the last window and the task."""

from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from livn_rl.plots import plot_mea, plot_raster
from livn_rl.recording import Recording

__all__ = ["draw_frame", "show_frame"]


def draw_frame(env, history: list[Recording], task_frame: np.ndarray | None) -> np.ndarray:
    """An ``(height, width, 3)`` uint8 frame of ``env``'s recent activity (and ``task_frame`` when given)."""
    fig = Figure(figsize=(14 if task_frame is not None else 10, 4.8), dpi=80, layout="constrained")
    columns = (1.6, 1.1, 0.9) if task_frame is not None else (1.6, 1.1)
    grid = fig.add_gridspec(1, len(columns), width_ratios=columns)
    ax_raster, ax_mea = fig.add_subplot(grid[0, 0]), fig.add_subplot(grid[0, 1])
    if history:
        recent = Recording.concatenate(history)
        # above the raster's legend, which takes two rows for more than three populations
        ax_raster.set_title("culture", fontsize=10, loc="left", pad=4 if len(env.system.populations) <= 3 else 26)
        plot_raster(ax_raster, recent, env.system)
        ax_raster.axvspan(history[-1].t_start_ms, history[-1].t_stop_ms, color="0.85", zorder=0)
        rates = history[-1].channel_rates_hz[0]
    else:
        ax_raster.set_title("no window simulated yet", fontsize=10, loc="left")
        ax_raster.set_xlabel("time (ms)")
        rates = None
    plot_mea(ax_mea, env.system, env.mea, channel_rates_hz=rates, stimulated=env._stimulated_channels,
             drive=env._last_drive)
    ax_mea.get_legend().remove()  # the frame is small; the colours speak for themselves
    ax_mea.set_title("last window (stimulated: orange)", fontsize=10, loc="left")
    if task_frame is not None:
        ax_task = fig.add_subplot(grid[0, 2])
        ax_task.imshow(task_frame)
        ax_task.set_axis_off()
        ax_task.set_title("task", fontsize=10, loc="left")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def show_frame(frame: np.ndarray, figure, title: str):
    """Show ``frame`` in a (reused) pyplot window; returns the window's figure."""
    import matplotlib.pyplot as plt

    if figure is None or not plt.fignum_exists(figure.number):
        figure = plt.figure(title, figsize=(frame.shape[1] / 80, frame.shape[0] / 80))
        figure.add_axes((0, 0, 1, 1)).set_axis_off()
        figure.axes[0].imshow(frame)
        plt.show(block=False)
    else:
        figure.axes[0].images[0].set_data(frame)
    figure.canvas.draw_idle()
    plt.pause(0.001)
    return figure
