"""The ``livn-rl`` command line: the parser and the entry point. Each command is a module of this package.

Heavy imports (Brian2, matplotlib) happen inside the commands, so ``livn-rl --help`` answers at once.
"""

from __future__ import annotations

import argparse
import gc
import sys
import traceback
from typing import Sequence

from livn_rl.cli import animate, envs, export, lateral_line, ring, sample, simulate, systems, train, view
from livn_rl.cli.common import Interrupted, Parser, UsageError, fill, one_line

__all__ = ["COMMANDS", "build_parser", "main"]

#: The command modules in the order ``livn-rl --help`` lists them; each has ``add_parser(commands)``.
COMMANDS = (systems, envs, simulate, sample, train, export, view, animate, ring, lateral_line)

DESCRIPTION = """\
livn-rl: simulated cortical cultures on a simulated multi-electrode array.

A culture of excitatory (RS) and inhibitory (FS) Izhikevich neurons grows over a grid of electrodes; Brian2
simulates it, electrodes stimulate nearby cells with current pulses and record the spikes they can see.
Predefined systems range from S1 (10 cells, 4 electrodes) to S4 (10,000 cells, 64 electrodes); any YAML/JSON
culture config works too. Registered Gymnasium environments put a culture in a closed loop with an agent.
"""

EPILOG = """\
examples:
  livn-rl systems              list the predefined systems
  livn-rl systems S2           everything about S2 and its MEA
  livn-rl simulate S2          2 s of spontaneous activity, figure in out/
  livn-rl simulate S2 --duration 1000 --stimulate 5:10uA@500msx10/20Hz
                               10 pulses of 10 uA at 20 Hz on channel 5,
                               from t = 500 ms
  livn-rl simulate my_culture.yaml --seed 3 --json out/run.json
  livn-rl envs                 list the registered Gymnasium environments
  livn-rl envs livn_rl/Pendulum-S2-v0
                               one environment: arguments, spaces, encoder
  livn-rl sample S2 --samples 10000 --out data/S2
                               record stimulus-response trials (resumable)
  livn-rl train livn_rl/Pendulum-S2-v0 --timesteps 3000
                               train SAC, draw its learning curve
  livn-rl simulate S2 --save out/s2.npz
  livn-rl export nwb out/s2.npz --out out/s2.nwb
                               the run as an NWB file (pip install
                               'livn_rl[nwb]'); datasets and episodes too
  livn-rl view lif             the LIF neuron live in a browser
                               (http://127.0.0.1:8765/)
  livn-rl view livn_rl/Pendulum-S2-v0 --policy out/train/model.zip
                               watch an env live: raster, MEA, task
  livn-rl animate livn_rl/Pendulum-S2-v0 --steps 200 --out episode.gif
                               an episode as a GIF (or MP4)
  livn-rl ring                 the ring attractor under four serotonin levels:
                               table, raster GIFs, bump figures
  livn-rl lateral-line --mode ll_fast --run-name demo --multi-seed 3
                               train the lateral line's STDP place map

run 'livn-rl COMMAND --help' for the options of a command.
"""


def build_parser() -> argparse.ArgumentParser:
    """The ``livn-rl`` argument parser."""
    parser = Parser(
        prog="livn-rl", description=fill(DESCRIPTION), epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")
    for command in COMMANDS:
        command.add_parser(commands)
    parser.set_defaults(command_names=list(commands.choices))
    return parser


def _drop_half_built_objects(stop: BaseException) -> None:
    """Free what a Ctrl-C caught half-way through building a network, quietly, before the command's last line.

    The stopped frames hold Brian2 objects never added to a network; freed later, Brian2 would warn about each one
    after the line that says what was kept.
    """
    stop.__traceback__ = None
    stop.__context__ = None
    brian2 = sys.modules.get("brian2")
    if brian2 is not None:
        brian2.BrianLogger.suppress_name("unused_brian_object")
    gc.collect()


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("livn_rl")
    except Exception:  # not installed
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``livn-rl`` console script; returns the exit code.

    :param argv: arguments without the program name (default: ``sys.argv[1:]``)
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help, --version and usage errors
        return int(done.code or 0) if not isinstance(done.code, str) else 2
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        print(f"\nlivn-rl: error: choose a command ({', '.join(args.command_names)})", file=sys.stderr)
        return 2
    prog = f"livn-rl {args.command}"
    try:
        return int(args.handler(args) or 0)
    except UsageError as err:
        print(f"{prog}: error: {one_line(err)}", file=sys.stderr)
        return 2
    except Interrupted as stop:
        _drop_half_built_objects(stop)
        print(f"{prog}: interrupted: {one_line(stop)}", file=sys.stderr)
        return 130
    except KeyboardInterrupt as stop:
        _drop_half_built_objects(stop)
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `livn-rl systems | head`
        return 0
    except Exception as err:  # an internal error: say what failed and where
        traceback.print_exc()
        print(f"{prog}: internal error: {type(err).__name__}: {one_line(err)} (the traceback above shows where)",
              file=sys.stderr)
        return 1
