"""``livn-rl systems``: list the predefined systems, or describe one with its MEA."""

from __future__ import annotations

import argparse
import json

from livn_rl.cli.common import UsageError, add_command, config_mea, resolve_config

__all__ = ["add_parser", "cmd_systems"]

#: Systems with more neurons than this are described from their config (connections not generated) unless --exact.
EXACT_LIMIT = 2000
#: Each reference circuit's documentation and a make_system call that sets its parameters.
REFERENCE_DOCS = {
    "LIF": ("docs/lif.md", "make_system('LIF', n_neurons=..., tau='20 ms', reset='soft', ...)"),
    "Ring": ("docs/ring.md", "make_system('Ring', serotonin='increased', cue_angle_deg=200.0, ...)"),
    "LateralLine": ("docs/lateral_line.md", "make_system('LateralLine', preset='fast', ...)"),
}

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


def add_parser(commands) -> None:
    """Add ``systems`` to the ``livn-rl`` sub-parsers."""
    systems = add_command(commands, "systems", help="list the predefined systems, or describe one",
                          description=SYSTEMS_DESCRIPTION, epilog=SYSTEMS_EPILOG, handler=cmd_systems)
    systems.add_argument("system", nargs="?", metavar="SYSTEM",
                         help="a predefined system (S1..S4) or a YAML/JSON culture config to describe in detail")
    systems.add_argument("--json", action="store_true", help="print JSON instead of text")
    systems.add_argument("--exact", action="store_true",
                         help=f"generate every system, even above {EXACT_LIMIT:,} neurons, for exact synapse counts")


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


def _system_facts(config, exact: bool) -> dict:
    """Facts about a culture for listings; generates it (for exact counts and positions) when small or asked."""
    from livn_rl.systems import make_system

    n = config.n_exc + config.n_inh
    mea = config_mea(config)
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
        config = resolve_config(args.system)
        facts = _system_facts(config, args.exact)
        if args.json:
            print(json.dumps({**facts, "config": config.to_dict()}, indent=2))
        else:
            _print_system_details(config, facts)
        return 0

    rows = [_system_facts(resolve_config(name), args.exact) for name in list_systems()]
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
