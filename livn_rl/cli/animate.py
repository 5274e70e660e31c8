"""``livn-rl animate``: an env's episode as a GIF or an MP4, from its rgb_array frames, with a progress bar."""

from __future__ import annotations

import argparse
import os

from livn_rl.cli.common import UsageError, add_command, check_output, parse_env_args, resolve_env_id

__all__ = ["add_parser", "cmd_animate"]

ANIMATE_DESCRIPTION = """\
Run a registered env for --steps steps with a random policy, no policy (--policy none: no stimulation) or a saved
stable-baselines3 model, and write one frame per step to a GIF or an MP4: the culture's spike raster coloured by
population, the MEA with each electrode's activity and the stimulated ones, and the task drawn by itself
(Pendulum, CartPole, ...). A new episode starts whenever one ends. By default the movie plays simulated time in
real time (the env's render_fps). MP4 needs the ffmpeg program; GIF needs nothing more.
"""

ANIMATE_EPILOG = """\
examples:
  livn-rl animate livn_rl/Pendulum-S2-v0 --steps 200 --out episode.gif
  livn-rl animate Pendulum-S2-v0 --policy out/train/model.zip --out out/trained.mp4
  livn-rl animate RateClamp-S1-v0 --steps 50 --fps 5 --out out/rate_clamp.gif
"""


def add_parser(commands) -> None:
    """Add ``animate`` to the ``livn-rl`` sub-parsers."""
    animate = add_command(commands, "animate", help="an env's episode as a GIF or an MP4",
                          description=ANIMATE_DESCRIPTION, epilog=ANIMATE_EPILOG, handler=cmd_animate)
    animate.add_argument("env_id", metavar="ENV", help="a registered env id (livn-rl envs lists them)")
    animate.add_argument("--steps", type=int, default=200, help="env steps, one frame each (default: %(default)s)")
    animate.add_argument("--out", "-o", default="out/episode.gif", metavar="FILE.gif|FILE.mp4",
                         help="the movie to write (default: %(default)s)")
    animate.add_argument("--policy", default="random", metavar="random|none|MODEL.zip",
                         help="who acts (default: random; none: the rest action, no stimulation in culture-control "
                              "and ring envs; or a stable-baselines3 model saved by livn-rl train)")
    animate.add_argument("--seed", type=int, default=0, help="seed of the first episode and the random policy (default: 0)")
    animate.add_argument("--fps", type=float, default=None,
                         help="frames per second (default: the env's render_fps, simulated time in real time)")
    animate.add_argument("--env-arg", action="append", default=[], metavar="KEY=VALUE",
                         help="an env argument, the value as JSON or a plain string, e.g. target=numpy (repeatable)")
    animate.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def cmd_animate(args: argparse.Namespace) -> int:
    """``livn-rl animate ENV --steps N --out FILE``."""
    import gymnasium as gym
    from tqdm import tqdm

    import livn_rl  # noqa: F401  (registers the envs)
    from livn_rl.view.animation import FORMATS, MissingWriterError, animate_env, writer_for
    from livn_rl.view.policies import PolicyError, make_policy

    env_id = resolve_env_id(args.env_id)
    if args.steps < 1:
        raise UsageError(f"--steps must be a whole number >= 1, got {args.steps}")
    if args.fps is not None and not 0 < args.fps <= 120:
        raise UsageError(f"--fps must be in (0, 120], got {args.fps:g}")
    out = check_output(args.out, "--out", formats=FORMATS)
    try:
        writer_for(out, 1.0)  # a missing ffmpeg is found before any simulation
        env = gym.make(env_id, render_mode="rgb_array", **parse_env_args(args.env_arg))
    except MissingWriterError as err:
        raise UsageError(err) from None
    except (TypeError, ValueError) as err:
        raise UsageError(f"{env_id}: {err}") from None
    try:
        policy = make_policy(args.policy, env, seed=args.seed)
        with tqdm(total=args.steps, desc=f"{env_id} -> {out.name}", unit="frame", disable=args.quiet) as bar:
            result = animate_env(env, policy, args.steps, out, seed=args.seed, fps=args.fps, progress=bar.update)
    except PolicyError as err:
        raise UsageError(err) from None
    finally:
        env.close()
    size = os.path.getsize(out)
    print(f"wrote {out}: {result['frames']} frames of {result['size'][0]}x{result['size'][1]} at {result['fps']:g} fps, "
          f"{result['episodes']} episode(s), {size / 1e6:.1f} MB")
    return 0
