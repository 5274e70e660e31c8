"""Neural systems: predefined cultures S1-S4, reference circuits (``"LIF"``, ``"Ring"``), user cultures from code or config
files, and the System interface.

>>> from livn_rl.systems import make_system, list_systems, list_reference_systems
>>> list_systems()
['S1', 'S2', 'S3', 'S4']
>>> list_reference_systems()
['LIF', 'Ring']
>>> system = make_system("S2")            # deterministic: no download, no file
>>> system = make_system("my_culture.yaml")  # or a YAML/JSON config file
>>> system = make_system("LIF", n_neurons=50)  # a reference circuit, with its keyword arguments
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from livn_rl.mea import MEA
from livn_rl.systems.cells import CELL_TYPES, FAST_SPIKING, REGULAR_SPIKING, IzhikevichCell
from livn_rl.systems.culture import Culture, CultureConfig, generate_culture
from livn_rl.systems.lateral_line import LateralLineSystem, make_lateral_line
from livn_rl.systems.lif import LIFSystem, make_lif, simulate_lif
from livn_rl.systems.ring import RingAttractorSystem, RingConfig, make_ring
from livn_rl.systems.synapses import SynapseKinetics
from livn_rl.systems.system import BuiltSystem, Population, System

# The synapse and background defaults of CultureConfig are tuned on S2 to give a few Hz of spontaneous activity with
# occasional network bursts and about 10 Hz near an electrode stimulated at 20 Hz; S3 and S4 keep the same local
# statistics (in-degree, weights) over a larger dish. S1 is too small to sustain activity and gets more noise.
# docs/systems.md gives the measured rates and the command that measured them.
PREDEFINED: dict[str, dict] = {
    "S1": {
        "name": "S1", "n_exc": 8, "n_inh": 2, "width_um": 200.0, "height_um": 200.0,
        "k_in_exc": 7, "k_in_inh": 2, "noise_exc_pA": 85.0,
        "mea": {"rows": 2, "cols": 2, "pitch_um": 100.0},
        "description": "10 cells (8 E / 2 I) over 4 electrodes: the smallest culture, for tests and debugging",
    },
    "S2": {
        "name": "S2", "n_exc": 80, "n_inh": 20, "width_um": 800.0, "height_um": 800.0,
        "mea": {"rows": 4, "cols": 4, "pitch_um": 200.0},
        "description": "100 cells (80 E / 20 I) on a 4x4 MEA: the default culture for RL",
    },
    "S3": {
        "name": "S3", "n_exc": 800, "n_inh": 200, "width_um": 1600.0, "height_um": 1600.0,
        "mea": {"rows": 8, "cols": 8, "pitch_um": 200.0},
        "description": "1,000 cells (800 E / 200 I) on an 8x8 MEA (pass MEA.grid(4, 4, 400.0) for 16 channels)",
    },
    "S4": {
        "name": "S4", "n_exc": 8000, "n_inh": 2000, "width_um": 1600.0, "height_um": 1600.0,
        "mea": {"rows": 8, "cols": 8, "pitch_um": 200.0},
        "description": "10,000 cells (8,000 E / 2,000 I) on an 8x8 MEA: a dense culture for scaling studies",
    },
}


#: Reference circuits: small systems with known theory, built by keyword (not culture configs).
REFERENCE_SYSTEMS: dict[str, Callable[..., System]] = {
    "LIF": make_lif, "Ring": make_ring, "LateralLine": make_lateral_line,
}


def list_systems() -> list[str]:
    """Names of the predefined cultures."""
    return list(PREDEFINED)


def list_reference_systems() -> list[str]:
    """Names of the reference circuits that :func:`make_system` also accepts (``"LIF"``, ``"Ring"``)."""
    return list(REFERENCE_SYSTEMS)


def system_config(name: str, **overrides) -> CultureConfig:
    """The config of a predefined system, optionally with some fields replaced (``seed=3``, ``k_in_exc=20``...)."""
    if name not in PREDEFINED:
        raise ValueError(f"unknown system {name!r}; predefined systems are {list_systems()}, or pass a config file path")
    return CultureConfig.from_dict({**PREDEFINED[name], **overrides})


def load_config(path: str | Path) -> CultureConfig:
    """Read a culture config from a ``.yaml``/``.yml`` (safe loader) or ``.json`` file."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"system config file {str(path)!r} does not exist")
    text = path.read_text()
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        elif path.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            raise ValueError(f"system config {str(path)!r} must end in .yaml, .yml or .json")
    except (json.JSONDecodeError, ImportError) as err:
        raise ValueError(f"cannot read system config {str(path)!r}: {err}") from None
    except Exception as err:  # yaml.YAMLError and its subclasses
        if type(err).__module__.startswith("yaml"):
            raise ValueError(f"system config {str(path)!r} is not valid YAML: {err}") from None
        raise
    if isinstance(data, dict) and "extends" in data:
        base = data.pop("extends")
        if base not in PREDEFINED:
            raise ValueError(f"system config {str(path)!r} extends unknown system {base!r}; choose from {list_systems()}")
        # a changed S2 is not S2: without a name of its own it is named after its file
        data = {**PREDEFINED[base], "name": path.stem, "description": f"{base} with the changes in {path.name}", **data}
    try:
        return CultureConfig.from_dict(data)
    except (TypeError, ValueError) as err:
        raise ValueError(f"system config {str(path)!r}: {err}") from None


def make_system(spec: str | Path | CultureConfig | dict | System, mea: MEA | None = None, **overrides) -> System:
    """Build a system from a predefined name, a config file, a config object or dict, or return a System as is.

    :param spec: ``"S1"``..``"S4"``, a reference circuit (``"LIF"``), a path to a YAML/JSON config, a
        :class:`CultureConfig` or a plain dict
    :param mea: electrode layout replacing the system's default grid
    :param overrides: config fields to replace, e.g. ``seed=1``; for a reference circuit, its keyword arguments
        (``make_system("LIF", n_neurons=50)``)
    """
    if isinstance(spec, System):
        if overrides or mea is not None:
            raise ValueError("overrides and mea apply to configs, not to an already built System")
        return spec
    if isinstance(spec, CultureConfig):
        config = spec.with_updates(**overrides) if overrides else spec
    elif isinstance(spec, dict):
        config = CultureConfig.from_dict({**spec, **overrides})
    elif isinstance(spec, (str, Path)) and str(spec) in PREDEFINED:
        config = system_config(str(spec), **overrides)
    elif isinstance(spec, str) and spec in REFERENCE_SYSTEMS:
        return REFERENCE_SYSTEMS[spec](mea=mea, **overrides)
    elif isinstance(spec, (str, Path)) and Path(spec).suffix.lower() in (".yaml", ".yml", ".json"):
        config = load_config(spec)
        config = config.with_updates(**overrides) if overrides else config
    else:
        raise ValueError(
            f"unknown system {spec!r}; predefined systems are {list_systems()}, reference circuits "
            f"{list_reference_systems()}, or pass a config file path"
        )
    return generate_culture(config, mea=mea)


__all__ = [
    "CELL_TYPES", "FAST_SPIKING", "PREDEFINED", "REFERENCE_SYSTEMS", "REGULAR_SPIKING", "BuiltSystem", "Culture",
    "CultureConfig", "IzhikevichCell", "LIFSystem", "LateralLineSystem", "Population", "RingAttractorSystem", "RingConfig",
    "SynapseKinetics", "System", "generate_culture",
    "list_reference_systems", "list_systems", "load_config", "make_system", "simulate_lif", "system_config",
]
