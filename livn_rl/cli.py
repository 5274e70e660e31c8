"""The ``livn-rl`` command line: list the predefined systems and simulate one with stimulation.

Heavy imports (Brian2, matplotlib) happen inside the commands, so ``livn-rl --help`` answers at once.
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import sys
import time
from pathlib import Path
from typing import Sequence

#: Integration time step and control granularity of the simulations this command runs (ms).
DT_MS = 0.1
CONTROL_DT_MS = 1.0
#: Systems with more neurons than this are described from their config (connections not generated) unless --exact.
EXACT_LIMIT = 2000
#: Each reference circuit's documentation and a make_system call that sets its parameters.
REFERENCE_DOCS = {
    "LIF": ("docs/lif.md", "make_system('LIF', n_neurons=..., tau='20 ms', reset='soft', ...)"),
    "Ring": ("docs/ring.md", "make_system('Ring', serotonin='increased', cue_angle_deg=200.0, ...)"),
    "LateralLine": ("docs/lateral_line.md", "make_system('LateralLine', preset='fast', ...)"),
}
#: Neighbourhood of a stimulated electrode whose rate the summary reports (um).
RESPONSE_RADIUS_UM = 100.0

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
  livn-rl ring                 the ring attractor under four serotonin levels:
                               table, raster GIFs, bump figures
  livn-rl lateral-line --preset fast --run-name demo --seeds 3
                               train the lateral line's STDP place map

run 'livn-rl COMMAND --help' for the options of a command.
"""

SYSTEMS_DESCRIPTION = """\
List the predefined systems (neurons, synapses, electrodes), or describe one system in detail: its populations,
connectivity, background and MEA (channels, layout, detection reach, false-positive rate, current limit).
"""

SYSTEMS_EPILOG = f"""\
Systems above {EXACT_LIMIT:,} neurons are described from their config without
generating their connections (that takes ~10 s for S4): their synapse count is
the expected one, marked '~'. Pass --exact to generate them.

examples:
  livn-rl systems
  livn-rl systems --json
  livn-rl systems S3
  livn-rl systems S4 --exact
  livn-rl systems my_culture.yaml
"""

SIMULATE_DESCRIPTION = """\
Simulate a system for --duration ms, optionally stimulating electrodes, then print a summary (rates per
population and per channel, network bursts, the response near each stimulated electrode) and save a figure
(raster, population rates, MEA map). Everything is checked before the network is built.
"""

SIMULATE_EPILOG = """\
stimulus syntax (--stimulate, repeatable):
  CH:AMPuA@ONSETms           one biphasic pulse of AMP uA on channel CH
                             (cathodic first, 0.2 ms per phase)
  CH:AMPuA@ONSETmsxN/RATEHz  a train of N such pulses at RATE Hz
                             (20 Hz when /RATEHz is left out)
  Channels count from 0 in row-major order (x fastest, see 'livn-rl systems
  NAME'); onsets are ms from the start of the run; amplitudes are limited by
  the MEA (50 uA by default).

examples:
  livn-rl simulate S2
  livn-rl simulate S2 --duration 1000 --stimulate 5:10uA@500msx10/20Hz \\
      --out /tmp/s2.png
  livn-rl simulate S2 -s 5:3uA@500ms -s 10:3uA@1200ms --no-background
  livn-rl simulate S3 --duration 500 --target numpy --json out/s3.json
  livn-rl simulate my_culture.yaml --seed 7

targets: 'cython' compiles the model once (about a minute, cached afterwards)
and then runs fast; 'numpy' starts at once but runs slower; 'auto' uses Cython
when a compiler works.
"""


ENVS_DESCRIPTION = """\
List the registered Gymnasium environments (gym.make("livn_rl/...")) with their task, culture, observation shape,
action space, simulated window per step and time limit (max_episode_steps), or describe one environment in detail:
what it does, the keyword arguments gym.make accepts (with their defaults), its spaces and, for tasks driven through
the culture, its encoder and decoder.

Spaces are read from a constructed env (Brian2's numpy target; the culture's simulation is only built at the first
reset), so this takes a second or two and compiles nothing.
"""

ENVS_EPILOG = """\
columns:
  task       the Gymnasium task driven through the culture (e.g. Pendulum-v1),
             or the culture-control task (RateClamp, Pattern, BurstSuppression)
  obs        shape of the observation (a float32 Box)
  action     the agent's action space
  window     simulated culture time per env step (ms)
  max steps  max_episode_steps (episodes are truncated there)

ENV can be the full id (livn_rl/Pendulum-S2-v0), the id without its namespace
(Pendulum-S2-v0), or the module-prefixed id gym.make also accepts
(livn_rl:livn_rl/Pendulum-S2-v0).

examples:
  livn-rl envs
  livn-rl envs --json
  livn-rl envs livn_rl/Pendulum-S2-v0
  livn-rl envs RateClamp-S2-v0 --json

in Python:
  import gymnasium as gym, livn_rl
  env = gym.make("livn_rl/Pendulum-S2-v0", encoder="rate", window_ms=100)
  venv = gym.make_vec("livn_rl/Pendulum-S2-v0", num_envs=16)
"""


class UsageError(Exception):
    """A bad command-line value: reported on one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit code 2) pointing at --help."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _fill(text: str, width: int = 79) -> str:
    """Re-wrap every paragraph of ``text`` (paragraphs are separated by blank lines) to ``width`` columns."""
    import textwrap

    return "\n\n".join(textwrap.fill(" ".join(p.split()), width) for p in text.strip().split("\n\n")) + "\n"


def _one_line(message: object) -> str:
    return " ".join(str(message).split())


# --------------------------------------------------------------------------------------------- argument parsing
def build_parser() -> argparse.ArgumentParser:
    """The ``livn-rl`` argument parser."""
    parser = _Parser(
        prog="livn-rl", description=_fill(DESCRIPTION), epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    systems = commands.add_parser(
        "systems", help="list the predefined systems, or describe one", description=_fill(SYSTEMS_DESCRIPTION),
        epilog=SYSTEMS_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    systems.add_argument("system", nargs="?", metavar="SYSTEM",
                         help="a predefined system (S1..S4) or a YAML/JSON culture config to describe in detail")
    systems.add_argument("--json", action="store_true", help="print JSON instead of text")
    systems.add_argument("--exact", action="store_true",
                         help=f"generate every system, even above {EXACT_LIMIT:,} neurons, for exact synapse counts")
    systems.set_defaults(handler=cmd_systems)

    envs = commands.add_parser(
        "envs", help="list the registered Gymnasium environments, or describe one", description=_fill(ENVS_DESCRIPTION),
        epilog=ENVS_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    envs.add_argument("env_id", nargs="?", metavar="ENV",
                      help="a registered env id (e.g. livn_rl/Pendulum-S2-v0) to describe in detail")
    envs.add_argument("--json", action="store_true", help="print JSON instead of text")
    envs.set_defaults(handler=cmd_envs)

    sim = commands.add_parser(
        "simulate", help="simulate a system (with stimulation), print a summary and save a figure",
        description=_fill(SIMULATE_DESCRIPTION), epilog=SIMULATE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sim.add_argument("system", metavar="SYSTEM", help="a predefined system (S1..S4) or a YAML/JSON culture config")
    sim.add_argument("--duration", "-d", type=float, default=2000.0, metavar="MS",
                     help="simulated time in ms, a whole number of ms (default: 2000)")
    sim.add_argument("--stimulate", "-s", action="append", default=[], metavar="SPEC",
                     help="a pulse or pulse train, e.g. 5:3uA@500ms or 5:3uA@500msx10/20Hz (repeatable)")
    sim.add_argument("--seed", type=int, default=0, metavar="N",
                     help="seed of the initial state and background noise (default: 0); the culture's structure is "
                          "fixed by its config")
    sim.add_argument("--no-background", dest="background", action="store_false",
                     help="switch off the background noise current (only stimulation drives the culture)")
    sim.add_argument("--target", choices=("auto", "cython", "numpy"), default="auto",
                     help="Brian2 code generation target (default: auto)")
    sim.add_argument("--out", "-o", metavar="PATH",
                     help="figure path; the suffix picks the format (default: out/<system>_simulation.png)")
    sim.add_argument("--json", metavar="PATH", dest="json_path", help="also write the summary as JSON to PATH")
    sim.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    sim.set_defaults(handler=cmd_simulate)

    from livn_rl.cli_learning import add_commands
    from livn_rl.systems.lateral_line.command import add_parser as add_lateral_line_parser
    from livn_rl.systems.ring.command import add_parser as add_ring_parser

    add_commands(commands)
    add_ring_parser(commands)
    add_lateral_line_parser(commands)
    parser.set_defaults(command_names=list(commands.choices))
    return parser


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
        print(f"{prog}: error: {_one_line(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `livn-rl systems | head`
        return 0


# ------------------------------------------------------------------------------------------- shared helpers
def _resolve_config(spec: str):
    """The CultureConfig that ``spec`` (a predefined name or a config path) names; UsageError otherwise."""
    from livn_rl.systems import list_systems, load_config, system_config

    names = list_systems()
    if spec in names:
        return system_config(spec)
    if Path(spec).suffix.lower() in (".yaml", ".yml", ".json"):
        try:
            return load_config(spec)
        except ValueError as err:
            raise UsageError(err) from None
    close = difflib.get_close_matches(spec.upper(), names, n=1) or difflib.get_close_matches(spec, names, n=1)
    hint = f"; did you mean {close[0]}?" if close else ""
    raise UsageError(
        f"unknown system {spec!r}: choose one of {', '.join(names)} or give a .yaml/.yml/.json culture config{hint}"
    )


def _config_mea(config):
    """The config's default MEA, built without generating the culture (cheap)."""
    from livn_rl.mea import MEA

    grid = dict(config.mea)
    try:
        return MEA.grid(grid.pop("rows"), grid.pop("cols"), grid.pop("pitch_um"), **grid)
    except (TypeError, ValueError) as err:
        raise UsageError(f"system {config.name!r} has an invalid MEA: {err}") from None


def _expected_synapses(config) -> int:
    """Expected number of synapses of a culture config (each neuron draws about k_in_exc + k_in_inh inputs,
    capped by the number of cells available)."""
    n_exc, n_inh = config.n_exc, config.n_inh
    exc = n_exc * min(config.k_in_exc, max(n_exc - 1, 0)) + n_inh * min(config.k_in_exc, n_exc)
    inh = n_exc * min(config.k_in_inh, n_inh) + n_inh * min(config.k_in_inh, max(n_inh - 1, 0))
    return int(exc + inh)


def _grid_text(config) -> str:
    mea = config.mea
    return f"{mea['rows']}x{mea['cols']}"


# ---------------------------------------------------------------------------------------------- `systems`
def _system_facts(config, exact: bool) -> dict:
    """Facts about a culture for listings; generates it (for exact counts and positions) when small or asked."""
    from livn_rl.systems import make_system

    n = config.n_exc + config.n_inh
    mea = _config_mea(config)
    facts = {
        "name": config.name,
        "description": config.description,
        "n_neurons": n,
        "populations": {
            "E": {"size": config.n_exc, "cell": config.exc_cell if isinstance(config.exc_cell, str) else "custom",
                  "excitatory": True},
            "I": {"size": config.n_inh, "cell": config.inh_cell if isinstance(config.inh_cell, str) else "custom",
                  "excitatory": False},
        },
        "n_synapses": _expected_synapses(config),
        "n_synapses_exact": False,
        "mea_channels": mea.n_channels,
        "mea_grid": _grid_text(config),
        "mea": mea.describe(),
        "structure_seed": config.seed,
    }
    if exact or n <= EXACT_LIMIT:
        try:
            system = make_system(config)
        except ValueError as err:
            raise UsageError(f"system {config.name!r} cannot be generated: {err}") from None
        described = system.describe()
        facts.update({k: v for k, v in described.items() if k != "mea_channels"})
        facts["n_synapses_exact"] = True
        facts["mea"] = system.mea.describe()
        facts["mea_channels"] = system.mea.n_channels
        in_reach = system.mea.cells_in_reach(system.positions_um)
        facts["cells_in_reach"] = {"min": int(in_reach.min()), "mean": round(float(in_reach.mean()), 2),
                                   "max": int(in_reach.max())}
    return facts


def _fmt_synapses(facts: dict) -> str:
    return f"{facts['n_synapses']:,}" if facts["n_synapses_exact"] else f"~{facts['n_synapses']:,}"


def cmd_systems(args: argparse.Namespace) -> int:
    """``livn-rl systems [SYSTEM] [--json] [--exact]``."""
    from livn_rl.systems import list_reference_systems, list_systems, make_system

    if args.system in list_reference_systems():
        facts = make_system(args.system).describe()
        if args.json:
            print(json.dumps(facts, indent=2))
        else:
            doc, example = REFERENCE_DOCS[args.system]
            print(f"{facts['name']}: {facts['description']} (reference circuit; see {doc})")
            for key, value in facts["parameters"].items():
                print(f"  {key}: {value}")
            print(f"  MEA channels: {facts['mea_channels']}")
            print(f"{example} sets any parameter")
        return 0
    if args.system:
        config = _resolve_config(args.system)
        facts = _system_facts(config, args.exact)
        if args.json:
            print(json.dumps({**facts, "config": config.to_dict()}, indent=2))
        else:
            _print_system_details(config, facts)
        return 0

    rows = [_system_facts(_resolve_config(name), args.exact) for name in list_systems()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = [("name", "neurons (E/I)", "synapses", "channels", "description")]
    for f in rows:
        pops = f["populations"]
        table.append((
            f["name"],
            f"{f['n_neurons']:,} ({pops['E']['size']:,}/{pops['I']['size']:,})",
            _fmt_synapses(f),
            f"{f['mea_channels']} ({f['mea_grid']})",
            f["description"],
        ))
    widths = [max(len(r[k]) for r in table) for k in range(4)]
    for r in table:
        cells = [r[0].ljust(widths[0]), r[1].ljust(widths[1]), r[2].rjust(widths[2]), r[3].ljust(widths[3]), r[4]]
        print("  ".join(cells).rstrip())
    if any(not f["n_synapses_exact"] for f in rows):
        print(f"\n~ expected from the config (k_in_exc + k_in_inh inputs per neuron): systems above {EXACT_LIMIT:,} "
              "neurons\n  are not generated for this listing; 'livn-rl systems --exact' counts them.")
    print(f"reference circuits: {', '.join(list_reference_systems())} (livn-rl systems LIF; docs/lif.md, docs/ring.md)")
    print("details: livn-rl systems NAME; simulate: livn-rl simulate NAME --duration MS")
    return 0


def _print_system_details(config, facts: dict) -> None:
    c = config.to_dict()
    mea = facts["mea"]
    pops = facts["populations"]
    n = facts["n_neurons"]
    print(f"{config.name}: {config.description}" if config.description else config.name)
    print("populations:")
    for name, p in pops.items():
        kind = "excitatory" if p["excitatory"] else "inhibitory"
        print(f"  {name}  {p['size']:>6,} neurons, {p['cell']} cells, {kind}")
    z0, z1 = c["z_range_um"]
    print(f"culture:      {c['width_um']:g} x {c['height_um']:g} um, somata {z0:g}-{z1:g} um above the electrodes, "
          f"structure seed {c['seed']}")
    per_neuron = facts["n_synapses"] / max(n, 1)
    print(f"synapses:     {_fmt_synapses(facts)} ({per_neuron:.1f} inputs per neuron; drawn for "
          f"{c['k_in_exc']} E + {c['k_in_inh']} I, length constant {c['length_constant_um']:g} um)"
          + ("" if facts["n_synapses_exact"] else "  [expected; --exact generates it]"))
    print(f"weights:      E->E {c['w_ee_nS']:g} nS, E->I {c['w_ei_nS']:g} nS, I->E {c['w_ie_nS']:g} nS, "
          f"I->I {c['w_ii_nS']:g} nS (log-normal, CV {c['weight_cv']:g})")
    print(f"delays:       {c['synaptic_latency_ms']:g} ms + distance / {c['conduction_velocity_um_per_ms']:g} um/ms")
    print(f"background:   noise {c['noise_exc_pA']:g} pA (E), {c['noise_inh_pA']:g} pA (I), tau {c['noise_tau_ms']:g} ms; "
          f"bias {c['bias_exc_pA']:g} pA (E), {c['bias_inh_pA']:g} pA (I)")
    grid = c["mea"]
    print(f"MEA:          {mea['n_channels']} channels, {grid['rows']}x{grid['cols']} grid, pitch {grid['pitch_um']:g} um "
          "(channels row-major, x fastest)")
    print(f"  detection:  reach {mea['reach_um']:g} um (spikes detected half of the time), "
          f"{mea['false_positive_rate_hz']:g} false positives/s per channel")
    print(f"  stimulation: up to +-{mea['max_current_ua']:g} uA per channel")
    if "cells_in_reach" in facts:
        r = facts["cells_in_reach"]
        print(f"  cells within reach per electrode: min {r['min']}, mean {r['mean']:g}, max {r['max']}")
    channel = ((grid["rows"] - 1) // 2) * grid["cols"] + (grid["cols"] - 1) // 2  # a central electrode
    print(f"try:          livn-rl simulate {config.name} --duration 1000 --stimulate {channel}:10uA@500msx10/20Hz")


# ------------------------------------------------------------------------------------------------ `envs`
#: gym.make_vec accepts these on top of the single env's arguments.
VECTOR_KWARGS = ("max_episode_steps", "autoreset_mode")


def _resolve_env_id(spec: str) -> str:
    """The registered env id that ``spec`` names (full, without namespace, or module-prefixed); UsageError
    otherwise, with close matches."""
    from livn_rl.envs import env_ids

    ids = env_ids()
    candidates = [spec]
    if ":" in spec:  # gym.make's "module:id" form
        candidates.append(spec.split(":", 1)[1])
    candidates += [f"livn_rl/{c}" for c in list(candidates) if "/" not in c]
    for candidate in candidates:
        if candidate in ids:
            return candidate
    lowered = {i.lower(): i for i in ids}
    for candidate in candidates:
        if candidate.lower() in lowered:
            return lowered[candidate.lower()]
    short = {i.split("/", 1)[1].lower(): i for i in ids}  # compare without the shared "livn_rl/" prefix
    key = candidates[-1].split("/", 1)[-1].lower()
    close = difflib.get_close_matches(key, list(short), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(short[c] for c in close)}?" if close else ""
    raise UsageError(f"unknown env {spec!r}{hint} ('livn-rl envs' lists all {len(ids)})")


def _fmt_space(space) -> str:
    """A space on one line: ``Box(-1, 1, (16,))`` for uniform bounds, ``Box((3,))`` otherwise, ``Discrete(2)``."""
    import gymnasium as gym
    import numpy as np

    if isinstance(space, gym.spaces.Box):
        if np.all(space.low == space.low.flat[0]) and np.all(space.high == space.high.flat[0]):
            return f"Box({space.low.flat[0]:g}, {space.high.flat[0]:g}, {space.shape})"
        return f"Box({space.shape})"
    return str(space)


def _space_facts(space) -> dict:
    import gymnasium as gym
    import numpy as np

    facts: dict = {"type": type(space).__name__, "text": str(space)}
    if isinstance(space, gym.spaces.Box):
        facts.update(shape=list(space.shape), dtype=str(space.dtype))
        for name in ("low", "high"):
            values = getattr(space, name).astype(np.float64).ravel()
            uniform = bool(np.all(values == values[0]))
            facts[name] = _json_number(values[0]) if uniform else [_json_number(v) for v in values]
    elif isinstance(space, gym.spaces.Discrete):
        facts.update(n=int(space.n), start=int(space.start))
    return facts


def _json_number(value: float):
    """A float for JSON, with infinities as strings (JSON has no infinity)."""
    value = float(value)
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return int(value) if value.is_integer() else round(value, 6)


def _plain(text: str) -> str:
    """Docstring text on one line, without reST markup (``x`` -> x, :class:`~a.b.C` -> C)."""
    import re

    text = re.sub(r":\w+:`~?([^`]+)`", lambda m: m.group(1).rsplit(".", 1)[-1], text)
    return " ".join(text.replace("``", "").split())


def _kwarg_docs(env_class) -> dict[str, dict]:
    """Every keyword argument ``gym.make`` accepts for ``env_class``: its default (from the most derived signature
    that has it) and its ``:param name:`` text (from the most derived docstring that documents it)."""
    import inspect
    import re

    from livn_rl.envs import valid_kwargs

    defaults: dict = {}
    docs: dict[str, str] = {}
    for cls in env_class.__mro__:
        if not isinstance(cls, type) or cls.__module__.split(".")[0] != "livn_rl":
            continue
        for name, param in inspect.signature(cls.__init__).parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or name in defaults:
                continue
            defaults[name] = param.default
        for name, text in re.findall(r":param (\w+):(.*?)(?=\n\s*:param |\n\s*\n|\Z)", inspect.getdoc(cls) or "", re.S):
            docs.setdefault(name, _plain(text))
    out = {}
    for name in valid_kwargs(env_class):
        default = defaults.get(name, inspect.Parameter.empty)
        out[name] = {"default": None if default is inspect.Parameter.empty else default,
                     "required": default is inspect.Parameter.empty, "help": docs.get(name, "")}
    return out


def _env_facts(env_id: str, detail: bool) -> dict:
    """Facts about a registered env, from its spec and from an env constructed on the numpy target (cheap: the
    Brian2 simulation is only built at the first reset)."""
    import inspect

    import gymnasium as gym

    from livn_rl.envs import CultureControlEnv, NeuralTaskEnv

    spec = gym.spec(env_id)
    try:
        env = gym.make(env_id, target="numpy")
    except Exception as err:  # a broken registration should not hide the other envs
        raise UsageError(f"cannot construct {env_id}: {err}") from None
    try:
        base = env.unwrapped
        cls = type(base)
        neural_task = isinstance(base, NeuralTaskEnv)
        system = spec.kwargs.get("system", base.system.name)
        facts = {
            "id": env_id,
            "task": base.task_id if neural_task else spec.name.removesuffix(f"-{system}"),
            "kind": "neural_task" if neural_task else "culture_control" if isinstance(base, CultureControlEnv) else "reference_circuit",
            "system": system,
            "observation_shape": list(base.observation_space.shape),
            "action_space": _fmt_space(base.action_space),
            "action_shape": list(base.action_space.shape),
            "window_ms": base.window_ms,
            "max_episode_steps": spec.max_episode_steps,
        }
        if not detail:
            return facts
        doc = inspect.getdoc(cls) or ""
        kwargs = _kwarg_docs(cls)
        for name, value in spec.kwargs.items():
            if name in kwargs:
                kwargs[name].update(default=value, registered=True)
        facts.update({
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "description": _plain(doc.split("\n\n")[0]),
            "entry_point": spec.entry_point,
            "vector_entry_point": spec.vector_entry_point,
            "registered_kwargs": dict(spec.kwargs),
            "kwargs": kwargs,
            "vector_kwargs": list(VECTOR_KWARGS),
            "observation_space": _space_facts(base.observation_space),
            "action_space_detail": _space_facts(base.action_space),
            "system_facts": {"neurons": base.system.n_neurons, "channels": base.mea.n_channels},
        })
        if neural_task:
            facts["task_action_space"] = str(base.task.action_space)
            facts["encoder"] = repr(base.encoder)
            facts["decoder"] = repr(base.decoder)
        return facts
    finally:
        env.close()


def cmd_envs(args: argparse.Namespace) -> int:
    """``livn-rl envs [ENV] [--json]``."""
    from livn_rl.envs import env_ids

    if args.env_id:
        facts = _env_facts(_resolve_env_id(args.env_id), detail=True)
        if args.json:
            print(json.dumps(facts, indent=2, default=repr))  # defaults that are not JSON types: by repr
        else:
            _print_env_details(facts)
        return 0

    rows = [_env_facts(env_id, detail=False) for env_id in env_ids()]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = [("id", "task", "system", "obs", "action", "window", "max steps")]
    for f in rows:
        table.append((f["id"], f["task"], f["system"], str(tuple(f["observation_shape"])), f["action_space"],
                      f"{f['window_ms']:g} ms", f"{f['max_episode_steps']}"))
    widths = [max(len(r[k]) for r in table) for k in range(len(table[0]))]
    right = {5, 6}
    for r in table:
        print("  ".join(c.rjust(w) if k in right else c.ljust(w) for k, (c, w) in enumerate(zip(r, widths))).rstrip())
    print(f"\n{len(rows)} envs. gym.make(ID) makes one (import livn_rl first, or write 'livn_rl:ID'); "
          "gym.make_vec(ID, num_envs=K)\nsimulates K copies in one network. Details: livn-rl envs ID")
    return 0


def _print_env_details(f: dict) -> None:
    import textwrap

    print(f"{f['id']}: {f['description']}" if f["description"] else f["id"])
    print(f"class:        {f['class']}")
    kind = {"neural_task": "a Gymnasium task driven through the culture", "culture_control": "culture control"}.get(f["kind"], "reference circuit")
    print(f"task:         {f['task']} ({kind})")
    n = f["system_facts"]
    print(f"system:       {f['system']} ({n['neurons']:,} neurons, {n['channels']} channels)")
    print(f"window:       {f['window_ms']:g} ms of culture time per step")
    print(f"time limit:   {f['max_episode_steps']} steps (max_episode_steps; a truncation)")
    print(f"observation:  {f['observation_space']['text']}")
    print(f"action:       {f['action_space_detail']['text']}")
    if f["kind"] == "neural_task":
        print(f"task action:  {f['task_action_space']} (what the decoder hands the task)")
        print(f"encoder:      {f['encoder']}")
        print(f"decoder:      {f['decoder']}")
    print("keyword arguments of gym.make (default; * = set by the registration):")
    width = max(len(name) for name in f["kwargs"])
    for name, k in f["kwargs"].items():
        default = "required" if k["required"] else repr(k["default"])
        if name == "window_ms" and k["default"] is None:
            default = f"None ({f['window_ms']:g} ms, the task's time step)"
        mark = "*" if k.get("registered") else " "
        head = f"  {mark}{name.ljust(width)}  {default}"
        lines = textwrap.wrap(k["help"], 100, initial_indent=" " * (width + 5), subsequent_indent=" " * (width + 5))
        print(head if not lines else f"{head}\n" + "\n".join(lines))
    print(f"vector env:   gym.make_vec('{f['id']}', num_envs=K) simulates K copies in one network; it also "
          f"takes {' and '.join(f['vector_kwargs'])}")


# --------------------------------------------------------------------------------------------- `simulate`
def _check_duration(duration: float) -> float:
    if not math.isfinite(duration) or duration <= 0:
        raise UsageError(f"--duration must be a finite number of ms > 0, got {duration:g}")
    steps = duration / CONTROL_DT_MS
    if abs(steps - round(steps)) > 1e-9 * max(1.0, steps):
        raise UsageError(f"--duration must be a whole number of ms (multiple of {CONTROL_DT_MS:g} ms), got {duration:g}")
    return float(round(steps) * CONTROL_DT_MS)


def _parse_stimuli(specs: Sequence[str], mea, duration_ms: float):
    """Parse and check every --stimulate SPEC against the MEA and the run; returns (pulses, rendered currents)."""
    from livn_rl.stimulus import parse_pulse_spec, render

    pulses = []
    for spec in specs:
        try:
            train = parse_pulse_spec(spec)
        except ValueError as err:
            raise UsageError(f"--stimulate: {err}") from None
        first = train[0]
        if first.channel >= mea.n_channels:
            raise UsageError(
                f"--stimulate {spec!r}: channel {first.channel} does not exist; the MEA has {mea.n_channels} channels "
                f"(0..{mea.n_channels - 1})"
            )
        if first.amplitude_ua > mea.max_current_ua:
            raise UsageError(
                f"--stimulate {spec!r}: {first.amplitude_ua:g} uA exceeds the MEA limit of {mea.max_current_ua:g} uA"
            )
        if first.amplitude_ua == 0:
            raise UsageError(f"--stimulate {spec!r}: the amplitude is 0 uA, so it would do nothing")
        last = train[-1]
        if last.onset_ms >= duration_ms:
            which = "its pulse" if len(train) == 1 else f"its last pulse (of {len(train)})"
            raise UsageError(
                f"--stimulate {spec!r}: {which} starts at {last.onset_ms:g} ms, not before the end of the run "
                f"({duration_ms:g} ms); lengthen --duration or start earlier"
            )
        if len(train) > 1 and train[1].onset_ms - first.onset_ms < first.duration_ms:
            raise UsageError(f"--stimulate {spec!r}: the pulses overlap; lower the rate")
        pulses.extend(train)
    if not pulses:
        return [], None
    try:
        currents = render(pulses, mea.n_channels, duration_ms, DT_MS)
        mea.check_current(currents)
    except ValueError as err:
        raise UsageError(f"--stimulate: {err} (pulses on one channel add up where they overlap)") from None
    return pulses, currents


def _check_output(path: str, what: str, formats: Sequence[str] | None = None) -> Path:
    out = Path(path).expanduser()
    if formats is not None:
        suffix = out.suffix.lower().lstrip(".")
        if suffix not in formats:
            raise UsageError(f"{what} {path!r} must end in one of {', '.join('.' + f for f in formats)}")
    if out.exists() and out.is_dir():
        raise UsageError(f"{what} {path!r} is a directory; give a file name")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"{what} {path!r}: cannot create its folder ({err.strerror})") from None
    return out


def _rate_grid_lines(rates, mea) -> list[str]:
    """Per-channel rates as a grid seen from above (top row = largest y), or a list when the MEA is no grid."""
    from livn_rl.analysis import grid_shape

    shape = grid_shape(mea)
    width = len(str(mea.n_channels - 1))
    values = [f"{r:.1f}" for r in rates]
    value_width = max(len(v) for v in values)
    cells = [f"[{c:>{width}}] {v:>{value_width}}" for c, v in enumerate(values)]
    if shape is None:
        per_line = 8
        return ["  " + "   ".join(cells[k : k + per_line]) for k in range(0, len(cells), per_line)]
    rows, cols = shape
    return ["  " + "   ".join(cells[r * cols : (r + 1) * cols]) for r in reversed(range(rows))]


def _fmt_rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} Hz"


def cmd_simulate(args: argparse.Namespace) -> int:
    """``livn-rl simulate SYSTEM ...``: validate, build, run, summarise, plot."""
    import numpy as np

    # ---- validate everything before building anything
    config = _resolve_config(args.system)
    mea = _config_mea(config)
    duration = _check_duration(args.duration)
    if args.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {args.seed}")
    pulses, currents = _parse_stimuli(args.stimulate, mea, duration)
    from matplotlib.figure import Figure

    formats = sorted(Figure().canvas.get_supported_filetypes())
    out = _check_output(args.out or f"out/{config.name}_simulation.png", "--out", formats)
    json_out = _check_output(args.json_path, "--json", ("json",)) if args.json_path else None

    # ---- build and run
    from livn_rl.analysis import (
        burst_threshold_hz, detect_bursts, mean_rates, population_rates, stimulation_responses,
    )
    from livn_rl.engine import Simulation
    from livn_rl.plots import save_figure, simulation_figure
    from livn_rl.systems import make_system

    t_build = time.perf_counter()
    try:
        system = make_system(config)
    except ValueError as err:
        raise UsageError(f"system {config.name!r} cannot be generated: {err}") from None
    mea = system.mea
    print(f"{system.name}: {system.n_neurons:,} neurons ("
          + " / ".join(f"{p.size:,} {p.name}" for p in system.populations) + "), "
          + (f"{system.n_synapses:,} synapses, " if hasattr(system, "n_synapses") else "")
          + f"{mea.n_channels} channels; seed {args.seed}, background {'on' if args.background else 'off'}, "
          f"target {args.target}", flush=True)
    if args.target != "numpy" and not args.quiet:
        print("building the network (with Cython, the first build of a model compiles it: about a minute)...",
              file=sys.stderr, flush=True)
    try:
        sim = Simulation(system, seed=args.seed, target=args.target, background=args.background, dt_ms=DT_MS,
                         control_dt_ms=CONTROL_DT_MS)
    except Exception as err:
        print(f"livn-rl simulate: error: building the network failed: {_one_line(err)}", file=sys.stderr)
        return 1
    build_s = time.perf_counter() - t_build
    t_run = time.perf_counter()
    try:
        recording = sim.run(duration, stimulus=currents, progress=not args.quiet)
    except Exception as err:
        print(f"livn-rl simulate: error: the simulation failed: {_one_line(err)}", file=sys.stderr)
        return 1
    finally:
        sim.close()
    run_s = time.perf_counter() - t_run

    # ---- analyse
    pop_rates = mean_rates(recording, system)
    bursts = detect_bursts(recording, system)
    _, total = recording.population_rate_hz(None, bin_ms=10.0)
    threshold = burst_threshold_hz(total)
    channel_rates = recording.channel_rates_hz[0]
    responses = stimulation_responses(recording, system, mea, pulses, radius_um=RESPONSE_RADIUS_UM)

    # ---- report
    speed = (duration / 1000.0) / run_s if run_s > 0 else float("inf")
    print(f"simulated {duration:g} ms in {build_s + run_s:.1f} s wall (build {build_s:.1f} s, run {run_s:.1f} s; "
          f"{speed:.2f}x real time)")
    print("mean rate per population:")
    for pop in system.populations:
        print(f"  {pop.name} ({pop.cell or '?'}, n={pop.size:,}): {pop_rates[pop.name]:7.2f} Hz")
    times = ", ".join(f"{b.start_ms:g}" for b in bursts[:12]) + (", ..." if len(bursts) > 12 else "")
    windows = [tuple(r["window_ms"]) for r in responses]
    evoked = sum(any(lo <= b.start_ms - recording.t_start_ms < hi for lo, hi in windows) for b in bursts)
    split = f" ({evoked} during stimulation)" if windows else ""
    print(f"network bursts: {len(bursts)}{split}" + (f", starting at {times} ms" if bursts else ""))
    print(f"  (a burst: whole-network rate in 10 ms bins above {threshold:.1f} Hz = max(5 x mean rate, 20 Hz))")
    print(f"detected spike rate per channel (Hz){', as seen from above (top row = largest y)' if _is_grid(mea) else ''}:")
    for line in _rate_grid_lines(channel_rates, mea):
        print(line)
    print(f"  mean {channel_rates.mean():.1f} Hz; noise alone gives {mea.false_positive_rate_hz:.2g} Hz per channel")
    if responses:
        first = min(p.onset_ms for p in pulses)
        print(f"stimulation response of the neurons within {RESPONSE_RADIUS_UM:g} um of each stimulated electrode")
        print(f"  (before = 0-{first:g} ms; during = from its first pulse to one interval after its last):")
        for r in responses:
            before, during = r["rate_before_hz"], r["rate_during_hz"]
            gain = f" (x{during / before:.1f})" if before and during is not None else ""
            pulses_text = f"{r['n_pulses']} x {r['amplitude_ua']:g} uA" if r["n_pulses"] > 1 else f"{r['amplitude_ua']:g} uA"
            print(f"  channel {r['channel']:>2}, {pulses_text}, {r['window_ms'][0]:g}-{r['window_ms'][1]:g} ms: "
                  f"{r['n_neurons_near']} neurons {_fmt_rate(before)} -> {_fmt_rate(during)}{gain}; "
                  f"electrode recorded {_fmt_rate(r['channel_rate_before_hz'])} -> {_fmt_rate(r['channel_rate_during_hz'])}")

    # ---- figure and JSON
    stim_text = "; ".join(_describe_spec(spec) for spec in args.stimulate) if args.stimulate else "no stimulation"
    title = (f"{system.name}: {duration:g} ms, {stim_text}, seed {args.seed}"
             + ("" if args.background else ", no background"))
    fig = simulation_figure(recording, system, mea, pulses=pulses, title=title)
    save_figure(fig, str(out), dpi=150)
    print(f"figure: {out}")
    if json_out is not None:
        centres, rates_t = population_rates(recording, system)
        summary = {
            "system": system.name,
            "system_spec": args.system,
            "n_neurons": system.n_neurons,
            "n_channels": mea.n_channels,
            "seed": args.seed,
            "background": args.background,
            "target": args.target,
            "duration_ms": duration,
            "wall_s": {"build": round(build_s, 3), "run": round(run_s, 3)},
            "stimulate": list(args.stimulate),
            "pulses": [{"channel": p.channel, "onset_ms": p.onset_ms, "amplitude_ua": p.amplitude_ua} for p in pulses],
            "mean_rate_hz": {k: round(v, 4) for k, v in pop_rates.items()},
            "channel_rate_hz": [round(float(v), 4) for v in channel_rates],
            "mea_grid": list(_grid(mea)) if _is_grid(mea) else None,
            "bursts": {"threshold_hz": round(threshold, 3), "bin_ms": 10.0, "count": len(bursts),
                       "during_stimulation": evoked, "events": [b.to_dict() for b in bursts]},
            "stimulation_responses": responses,
            "population_rate_hz": {"bin_ms": 10.0, "t_ms": np.round(centres, 3).tolist(),
                                   **{k: np.round(v, 3).tolist() for k, v in rates_t.items()}},
            "n_spikes": int(recording.neuron_i.size),
            "n_channel_spikes": int(recording.channel_c.size),
            "figure": str(out),
        }
        json_out.write_text(json.dumps(_rounded(summary), indent=2))
        print(f"json: {json_out}")
    return 0


def _describe_spec(spec: str) -> str:
    """A --stimulate SPEC in words, e.g. '10 x 10 uA at 20 Hz on channel 5 from 500 ms'."""
    from livn_rl.stimulus import parse_pulse_spec

    train = parse_pulse_spec(spec)
    p = train[0]
    if len(train) == 1:
        return f"{p.amplitude_ua:g} uA on channel {p.channel} at {p.onset_ms:g} ms"
    rate = 1000.0 / (train[1].onset_ms - p.onset_ms)
    return f"{len(train)} x {p.amplitude_ua:g} uA at {rate:g} Hz on channel {p.channel} from {p.onset_ms:g} ms"


def _rounded(value, digits: int = 4):
    """``value`` with every float rounded, for a readable JSON file."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: _rounded(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(v, digits) for v in value]
    return value


def _grid(mea):
    from livn_rl.analysis import grid_shape

    return grid_shape(mea)


def _is_grid(mea) -> bool:
    return _grid(mea) is not None


if __name__ == "__main__":
    sys.exit(main())
