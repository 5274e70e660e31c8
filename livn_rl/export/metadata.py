"""What an exported file says about the simulated system: its structure, its MEA and a hash of its config."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from livn_rl.identity import config_hash
from livn_rl.mea import MEA
from livn_rl.systems import Population

__all__ = ["EXPORT_PACKAGES", "ExportError", "SystemInfo", "system_config_hash"]

#: The packages whose versions an exported file records.
EXPORT_PACKAGES = ("livn_rl", "brian2", "numpy", "gymnasium", "pynwb", "hdmf")


class ExportError(ValueError):
    """A source that cannot be exported as asked: unknown, incomplete, damaged or not matching its system."""


def _plain(value: Any) -> Any:
    """``value`` as plain JSON data (numpy scalars and arrays, tuples and dataclass-like configs)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"cannot describe {type(value).__name__} as plain config data")


def _config_of(system) -> dict | None:
    config = getattr(system, "config", None)
    return json.loads(json.dumps(config.to_dict(), default=_plain)) if hasattr(config, "to_dict") else None


def system_config_hash(system, mea: MEA | None = None) -> str:
    """The content hash of everything that defines ``system`` on its electrodes: its
    :meth:`~livn_rl.systems.System.identity` (class and full config, seeds and connectivity included) and the MEA's
    layout and physics, hashed by :func:`livn_rl.identity.config_hash` as dataset identities are. Two systems with
    one hash build the same network on the same electrodes.

    :param system: a :class:`~livn_rl.systems.System`
    :param mea: the electrode array (default: the system's own)
    """
    mea = mea if mea is not None else system.mea
    return config_hash({"system": system.identity(), "mea": None if mea is None else mea.to_dict()})


@dataclass
class SystemInfo:
    """The facts about a system that exported files hold, so that they can be read without rebuilding it.

    :param name: system name, e.g. ``"S2"``
    :param kind: the System class, e.g. ``"Culture"``
    :param config_hash: :func:`system_config_hash` of the system (``"sha256:"`` and 64 hex digits)
    :param config: its config as plain data (``None`` for systems without one)
    :param description: its :meth:`~livn_rl.systems.System.describe`
    :param positions_um: ``(n_neurons, 3)`` soma positions (um)
    :param populations: its populations, in index order
    :param mea: the electrode array it was recorded through
    """

    name: str
    kind: str
    config_hash: str
    config: dict | None
    description: dict
    positions_um: np.ndarray
    populations: list[Population]
    mea: MEA

    @classmethod
    def from_system(cls, system, mea: MEA | None = None) -> "SystemInfo":
        mea = mea if mea is not None else system.mea
        if mea is None:
            raise ExportError(f"system {system.name!r} has no MEA; pass the MEA it was recorded through")
        return cls(system.name, type(system).__name__, system_config_hash(system, mea), _config_of(system),
                   json.loads(json.dumps(system.describe(), default=_plain)), np.asarray(system.positions_um, float),
                   list(system.populations), mea)

    @property
    def n_neurons(self) -> int:
        return int(self.positions_um.shape[0])

    def to_dict(self) -> dict:
        return {
            "name": self.name, "kind": self.kind, "config_hash": self.config_hash, "config": self.config,
            "description": self.description, "positions_um": self.positions_um.tolist(),
            "populations": [{"name": p.name, "start": p.start, "stop": p.stop, "excitatory": p.excitatory, "cell": p.cell}
                            for p in self.populations],
            "mea": self.mea.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "SystemInfo":
        try:
            return cls(data["name"], data["kind"], data["config_hash"], data["config"], data["description"],
                       np.asarray(data["positions_um"], float).reshape(-1, 3),
                       [Population(**p) for p in data["populations"]], MEA.from_dict(data["mea"]))
        except (KeyError, TypeError, ValueError) as err:
            raise ExportError(f"the system description is incomplete or damaged ({type(err).__name__}: {err})") from None
