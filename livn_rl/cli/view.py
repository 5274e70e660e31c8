"""``livn-rl view``: watch the LIF neuron or any registered env live in a browser (page and stream on one port)."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from typing import Any

from livn_rl.atomic import write_json
from livn_rl.cli.common import UsageError, add_command, check_output, parse_env_args, resolve_env_id, usage_errors

__all__ = ["LIF_DEFAULTS", "add_parser", "cmd_view"]

VIEW_DESCRIPTION = """\
Run a simulation step by step without end and watch it in a browser: the server streams one JSON frame per step on
ws://HOST:PORT/stream and serves the page at http://HOST:PORT/ (same port; the page finds the stream by itself).
Open the address it prints; several browsers may watch one run, and a slow one never slows it down (it loses
frames, the others do not). Ctrl-C stops the server.

view lif: the discrete-time LIF neuron (u = (1 - du) u + w s_in, v = (1 - dv) v + u + bias, a spike and v = 0 at
the threshold, w = threshold * spike fraction, s_in ~ Bernoulli(rate)); frames {"v", "spike", "input", "t",
"threshold"} every --delay-ms. The page draws the neuron (dendrites light up on an input spike, a pulse runs down
the axon on an output spike) beside live charts, with pause and sliders that change the running neuron. --export
writes a trace instead (the keys of simulate_lif) that the page replays offline.

view ENV: a registered env (livn-rl envs lists them) driven by a random policy, by nobody (--policy none: no
stimulation) or by a saved stable-baselines3 model: a scrolling spike raster coloured by population, the MEA with
each electrode's activity and the stimulated ones lit, population rates, reward and the task's own state. Reset
with a seed from the page; in culture-control envs (RateClamp, Pattern, BurstSuppression) clicking an electrode
stimulates it in the next step.

The server listens on 127.0.0.1 (this machine) unless --host says otherwise, serves only its own page, and
checks every message a client sends. Frame formats and commands: docs/view.md.
"""

VIEW_EPILOG = """\
examples:
  livn-rl view lif                         the LIF demo on http://127.0.0.1:8765/
  livn-rl view lif --rate 0.08 --dv 0.04 --spike-fraction 0.4 --delay-ms 80
  livn-rl view lif --export data.json      a 200-step trace to replay on the page
  livn-rl view livn_rl/Pendulum-S2-v0      Pendulum through the S2 culture, random policy
  livn-rl view Pendulum-S2-v0 --policy out/train/model.zip --seed 3
  livn-rl view RateClamp-S2-v0 --policy none
                                           only your clicks on electrodes stimulate
  livn-rl view CartPole-S1-v0 --fast --env-arg target=numpy
  livn-rl view lif --port 0                any free port (printed)

in Python, a client of the stream:
  async with websockets.connect("ws://localhost:8765/stream") as ws:
      frames = [json.loads(await ws.recv()) for _ in range(120)]
"""

#: The LIF demo's parameters (as its users ran it).
LIF_DEFAULTS = {"rate": 0.08, "dv": 0.04, "du": 1.0, "spike_fraction": 0.4, "bias": 0.0, "threshold": 1.0}
_LIF_OPTIONS = (*LIF_DEFAULTS, "delay_ms", "export", "steps")
_ENV_OPTIONS = ("policy", "pace", "env_arg")


def add_parser(commands) -> None:
    """Add ``view`` to the ``livn-rl`` sub-parsers."""
    view = add_command(commands, "view", help="watch the LIF neuron or an env live in a browser",
                       description=VIEW_DESCRIPTION, epilog=VIEW_EPILOG, handler=cmd_view)
    view.add_argument("target", metavar="lif|ENV", help="'lif' for the LIF demo, or a registered env id")
    view.add_argument("--host", default="127.0.0.1",
                      help="interface to listen on (default: %(default)s, this machine only; 0.0.0.0 opens the run "
                           "to your network)")
    view.add_argument("--port", type=int, default=8765, help="port of the page and the stream (default: %(default)s; "
                      "0: any free port)")
    view.add_argument("--seed", type=int, default=None,
                      help="seed of the LIF input spikes (default: 1) or of the env's first episode (default: 0)")
    view.add_argument("--quiet", "-q", action="store_true", help="do not report clients coming and going")
    lif = view.add_argument_group("view lif")
    for name, default in LIF_DEFAULTS.items():
        lif.add_argument(f"--{name.replace('_', '-')}", type=float, default=None, metavar="X",
                         help=f"{_LIF_HELP[name]} (default: {default:g})")
    lif.add_argument("--delay-ms", type=float, default=None, metavar="MS",
                     help="wall time between frames (default: 80; 0: as fast as possible)")
    lif.add_argument("--export", metavar="FILE.json", help="write a trace to FILE.json instead of serving")
    lif.add_argument("--steps", type=int, default=None, help="steps of the exported trace (default: 200)")
    env = view.add_argument_group("view ENV")
    env.add_argument("--policy", default=None, metavar="random|none|MODEL.zip",
                     help="who acts: a random policy (default), nobody (the rest action: no stimulation in "
                          "culture-control and ring envs), or a stable-baselines3 model saved by livn-rl train")
    pace = env.add_mutually_exclusive_group()
    pace.add_argument("--realtime", dest="pace", action="store_const", const="realtime",
                      help="pace simulated time to wall time (the default; slower if the simulation cannot keep up)")
    pace.add_argument("--fast", dest="pace", action="store_const", const="fast", help="stream as fast as it simulates")
    env.add_argument("--env-arg", action="append", default=None, metavar="KEY=VALUE",
                     help="an env argument, the value as JSON or a plain string, e.g. target=numpy (repeatable)")


_LIF_HELP = {
    "rate": "input spike probability per step, 0..1",
    "dv": "membrane decay per step, 0..1",
    "du": "synaptic current decay per step, 0..1",
    "spike_fraction": "synaptic weight as a fraction of the threshold",
    "bias": "constant input added to v every step",
    "threshold": "spike threshold (> 0)",
}


def cmd_view(args: argparse.Namespace) -> int:
    """``livn-rl view lif|ENV [options]``."""
    lif = args.target.lower() == "lif"
    given = [name for name in (_ENV_OPTIONS if lif else _LIF_OPTIONS) if getattr(args, name) is not None]
    if given:
        flags = ", ".join("--" + name.replace("_", "-") for name in given)
        raise UsageError(f"{flags} {'apply' if len(given) > 1 else 'applies'} to "
                         f"{'livn-rl view ENV' if lif else 'livn-rl view lif'} only")
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0..65535, got {args.port}")
    if lif and args.export is not None:
        return _export(args)
    try:
        import websockets  # noqa: F401
    except ImportError:
        raise UsageError("livn-rl view needs the websockets package: pip install 'livn_rl[view]'") from None
    source = _lif_stream(args) if lif else _env_stream(args)
    from livn_rl.view import ViewServer

    server = ViewServer(source, args.host, args.port, log=None if args.quiet else print)
    return _serve(server, "LIF neuron" if lif else args.target)


def _lif_parameters(args: argparse.Namespace) -> dict[str, Any]:
    return {name: default if getattr(args, name) is None else getattr(args, name)
            for name, default in LIF_DEFAULTS.items()}


def _lif_stream(args: argparse.Namespace):
    from livn_rl.systems.lif import DiscreteLIF
    from livn_rl.view import LIFStream

    with usage_errors():
        neuron = DiscreteLIF(**_lif_parameters(args), seed=1 if args.seed is None else args.seed)
        return LIFStream(neuron, 80.0 if args.delay_ms is None else args.delay_ms)


def _export(args: argparse.Namespace) -> int:
    from livn_rl.systems.lif import simulate_lif

    if args.delay_ms is not None:
        raise UsageError("--delay-ms paces the live stream; an --export trace is replayed at the page's own pace")
    out = check_output(args.export, "--export", formats=("json",))
    with usage_errors():
        trace = simulate_lif(200 if args.steps is None else args.steps, **_lif_parameters(args),
                             seed=1 if args.seed is None else args.seed)
    write_json(out, trace, indent=1)
    print(f"wrote {out}: {len(trace['t'])} steps, {len(trace['spike_steps'])} output spikes; replay it on the page "
          f"of `livn-rl view lif` (Replay a trace)")
    return 0


def _env_stream(args: argparse.Namespace):
    import gymnasium as gym

    import livn_rl  # noqa: F401  (registers the envs)
    from livn_rl.view import EnvStream, PolicyError, make_policy

    env_id = resolve_env_id(args.target)
    env_kwargs = parse_env_args(args.env_arg or [])
    seed = 0 if args.seed is None else args.seed
    if not 0 <= seed < 2**31:
        raise UsageError(f"--seed must be 0..{2**31 - 1}, got {seed}")
    try:
        env = gym.make(env_id, **env_kwargs)
    except (TypeError, ValueError) as err:
        raise UsageError(f"{env_id}: {err}") from None
    spec = args.policy or "random"
    try:
        policy = make_policy(spec, env, seed=seed)
    except PolicyError as err:
        env.close()
        raise UsageError(err) from None
    name = spec if spec in ("random", "none") else os.path.basename(spec)
    return EnvStream(env, env_id, policy, name, seed=seed, pace=args.pace or "realtime")


def _serve(server, what: str) -> int:
    """Run ``server`` until Ctrl-C (or SIGTERM); a port that cannot be bound is a usage error."""
    listening = []

    def ready(host: str, port: int) -> None:
        listening.append(port)
        shown = f"[{host}]" if ":" in host else host
        print(f"livn-rl view: {what} on http://{shown}:{port}/ (stream: ws://{shown}:{port}/stream); Ctrl-C stops",
              flush=True)
        if host not in ("127.0.0.1", "localhost", "::1"):
            print(f"livn-rl view: listening on {host}: anyone who can reach this machine can watch and steer the run",
                  flush=True)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, asyncio.current_task().cancel)
        await server.serve(ready)

    try:
        asyncio.run(main())
    except OSError as err:
        if listening:
            raise
        reason = err.strerror or str(err)
        raise UsageError(f"cannot listen on {server.host}:{server.port}: {reason} (another program, or another "
                         f"livn-rl view, uses it?); choose another --port, or --port 0 for any free one") from None
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("livn-rl view: stopped", flush=True)
    return 0
