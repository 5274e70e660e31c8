"""An env's episode as a GIF or an MP4, drawn from its ``rgb_array`` frames (the raster, the MEA and the task).

>>> env = gym.make("livn_rl/Pendulum-S2-v0", render_mode="rgb_array")
>>> animate_env(env, make_policy("random", env, seed=0), steps=200, out="episode.gif")
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import gymnasium as gym

from livn_rl.atomic import atomic_path
from livn_rl.checks import check_number, check_whole
from livn_rl.view.policies import Policy

__all__ = ["FORMATS", "MissingWriterError", "animate_env", "writer_for"]

#: File suffixes :func:`animate_env` writes.
FORMATS = ("gif", "mp4")


class MissingWriterError(RuntimeError):
    """The movie writer a format needs is not installed."""


def writer_for(path: str | Path, fps: float):
    """The matplotlib movie writer for ``path``'s suffix: Pillow for ``.gif``, ffmpeg for ``.mp4``.

    :raises ValueError: another suffix
    :raises MissingWriterError: ``.mp4`` without the ``ffmpeg`` program
    """
    from matplotlib import animation

    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix == "gif":
        return animation.PillowWriter(fps=fps)
    if suffix == "mp4":
        if not animation.FFMpegWriter.isAvailable():
            raise MissingWriterError("writing MP4 needs the ffmpeg program, which is not on the PATH (Debian/Ubuntu: "
                                     "apt-get install ffmpeg; conda: conda install ffmpeg); or write a .gif")
        return animation.FFMpegWriter(fps=fps, codec="libx264", extra_args=["-pix_fmt", "yuv420p"])
    raise ValueError(f"{path!s} must end in one of {', '.join('.' + f for f in FORMATS)}")


def animate_env(env: gym.Env, policy: Policy, steps: int, out: str | Path, *, seed: int = 0, fps: float | None = None,
                progress: Callable[[int], None] | None = None) -> dict:
    """Run ``env`` for ``steps`` steps with ``policy`` and write one frame per step to ``out``.

    A new episode starts (seed + 1, + 2, ...) whenever one ends. The file is written under a temporary name and
    renamed at the end, so ``out`` never holds half a movie.

    :param env: an env made with ``render_mode="rgb_array"``
    :param policy: observation -> action
    :param steps: env steps, one frame each (>= 1)
    :param out: ``.gif`` or ``.mp4`` path
    :param seed: seed of the first episode
    :param fps: frames per second (default: the env's ``render_fps``, simulated time in real time)
    :param progress: called with 1 after each frame (a progress bar's ``update``)
    :returns: ``{"frames", "episodes", "fps", "size"}``
    """
    from matplotlib.figure import Figure

    if env.render_mode != "rgb_array":
        raise ValueError(f"animate_env needs an env made with render_mode='rgb_array', got {env.render_mode!r}")
    steps = check_whole("steps", steps, 1)
    fps = check_number("fps", env.metadata.get("render_fps", 20) if fps is None else fps, 0.0, 120.0, low_open=True)
    out = Path(out)
    writer = writer_for(out, fps)
    observation, _ = env.reset(seed=seed)
    episodes = 1
    figure = image = None
    with atomic_path(out) as partial:
        for step in range(steps):
            observation, _, terminated, truncated, _ = env.step(policy(observation))
            frame = env.render()
            if figure is None:
                height, width = frame.shape[:2]
                figure = Figure(figsize=(width / 100, height / 100), dpi=100)
                axes = figure.add_axes((0, 0, 1, 1))
                axes.set_axis_off()
                image = axes.imshow(frame)
                writer.setup(figure, str(partial), dpi=100)
            else:
                image.set_data(frame)
            writer.grab_frame()
            if progress is not None:
                progress(1)
            if (terminated or truncated) and step < steps - 1:
                observation, _ = env.reset(seed=seed + episodes)
                episodes += 1
        writer.finish()
    return {"frames": steps, "episodes": episodes, "fps": fps, "size": [int(frame.shape[1]), int(frame.shape[0])]}
