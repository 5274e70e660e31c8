"""What made a dataset's trials, and the checks that keep datasets from being mixed with anything else.

A dataset's *identity* is everything that determines its trials apart from the random draws: the system's full
config (its structure seed and connectivity parameters included, :meth:`~livn_rl.systems.System.identity`), the
MEA's layout and physics, the encoder's class and parameters, the window, the time step, whether background noise
was on, and the versions of the model code (livn_rl and Brian2). ``meta.json`` stores it whole with its
:func:`~livn_rl.identity.config_hash` (``content_hash``). Resuming a dataset and replaying it into an env compare
identities and name every field that differs.
"""

from __future__ import annotations

import json
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from livn_rl.data.store import DatasetError
from livn_rl.identity import class_path, config_differences, config_hash

__all__ = ["IDENTITY_PACKAGES", "dataset_identity", "describe_differences", "env_identity", "package_version",
           "require_identity"]

#: The packages whose code makes the trials: a dataset records their versions in its identity.
IDENTITY_PACKAGES = ("livn_rl", "brian2")


def package_version(name: str) -> str:
    """The installed version of a package (``"not installed"`` if it is not)."""
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def dataset_identity(system, mea, encoder, *, window_ms: float, dt_ms: float, noise: bool) -> dict[str, Any]:
    """The identity of trials made on ``system`` through ``mea`` with ``encoder`` (plain JSON data).

    :param system: the built :class:`~livn_rl.systems.System`
    :param mea: its :class:`~livn_rl.mea.MEA`
    :param encoder: the :class:`~livn_rl.encoders.Encoder` that turns features into stimulation
    :param window_ms: trial length (ms)
    :param dt_ms: simulation time step (ms)
    :param noise: background noise on or off
    """
    return {
        "system": system.identity(),
        "mea": mea.to_dict(),
        "encoder": {"class": class_path(encoder), "parameters": encoder.parameters()},
        "window_ms": float(window_ms),
        "dt_ms": float(dt_ms),
        "noise": bool(noise),
        "code": {name: package_version(name) for name in IDENTITY_PACKAGES},
    }


def env_identity(env) -> dict[str, Any]:
    """The identity of the trials a livn_rl env would record for its actions: its system, MEA, encoder, window,
    time step and noise. Raises :class:`DatasetError` for an env without an encoder (its actions are not features
    of MEA stimulation)."""
    inner = env.unwrapped
    encoder = getattr(inner, "encoder", None)
    if encoder is None:
        raise DatasetError(f"{type(inner).__name__} has no encoder: it drives its neurons directly, so its actions "
                           f"are not the features of MEA stimulation that dataset trials record")
    return dataset_identity(inner.system, inner.mea, encoder, window_ms=inner.window_ms, dt_ms=inner.context.dt_ms,
                            noise=inner.noise)


def require_identity(meta: dict, folder: str | Path) -> dict[str, Any]:
    """The identity recorded in a dataset's metadata. A dataset made before identities were recorded, or whose
    identity does not match its content hash, raises :class:`DatasetError` saying how to make it again."""
    identity = meta.get("identity")
    again = f"Sample it again into a new folder: `{meta.get('command', 'livn-rl sample ...')}`"
    if not isinstance(identity, dict) or "content_hash" not in meta:
        raise DatasetError(
            f"{folder} was made by an older livn_rl that did not record the identity of its trials (the full system "
            f"config, MEA, encoder, window, time step, noise and code version), so nothing can check that it is not "
            f"mixed with other trials. {again}"
        )
    if config_hash(identity) != meta["content_hash"]:
        raise DatasetError(f"the meta.json of {folder} is damaged: its identity does not match its content_hash "
                           f"{meta['content_hash']}. {again}")
    return identity


def describe_differences(old: dict, new: dict, old_name: str, new_name: str, limit: int = 8) -> list[str]:
    """One line per differing field of two identities: ``"system.config.seed: dataset 0, env 3"``."""

    def short(value: Any) -> str:
        text = json.dumps(value)
        return text if len(text) <= 80 else text[:77] + "..."

    found = config_differences(old, new)
    lines = [f"{path}: {old_name} {short(a)}, {new_name} {short(b)}" for path, a, b in found[:limit]]
    if len(found) > limit:
        lines.append(f"and {len(found) - limit} more field(s)")
    return lines
