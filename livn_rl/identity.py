"""Content hashes of configs: what made a dataset, a system or an export, reduced to one comparable string.

A config is plain data (dicts, lists, numbers, strings, numpy arrays). :func:`canonical` turns it into one JSON form
(numpy values as Python values, tuples as lists, numbers compared by value so that ``50`` and ``50.0`` agree), and
:func:`config_hash` hashes that form. The canonical form survives a round trip through JSON unchanged, so a hash
written to a file can be recomputed from the config written beside it. :func:`config_differences` names the fields
in which two configs differ, for errors that say what changed.

>>> config_hash({"name": "S2", "seed": 0}) == config_hash({"seed": 0.0, "name": "S2"})
True
>>> config_differences({"system": {"seed": 0}}, {"system": {"seed": 1}})
[('system.seed', 0, 1)]
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["canonical", "class_path", "config_differences", "config_hash"]


def canonical(config: Any) -> Any:
    """``config`` as plain JSON data in one canonical form: mappings with string keys, lists, ``None``, booleans,
    strings, integers (every whole-valued number) and finite floats; infinities and NaN as the strings ``"inf"``,
    ``"-inf"`` and ``"nan"``. Raises ``TypeError`` for anything else (a config must be data, not objects)."""
    if isinstance(config, dict):
        out = {}
        for key, value in config.items():
            if not isinstance(key, str):
                raise TypeError(f"config keys must be strings, got {key!r}")
            out[key] = canonical(value)
        return out
    if isinstance(config, (list, tuple)):
        return [canonical(v) for v in config]
    if isinstance(config, np.ndarray):
        return canonical(config.tolist())
    if config is None or isinstance(config, (bool, np.bool_)):
        return None if config is None else bool(config)
    if isinstance(config, (int, np.integer)):
        return int(config)
    if isinstance(config, (float, np.floating)):
        value = float(config)
        if not math.isfinite(value):
            return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return int(value) if value.is_integer() and abs(value) < 2**63 else value
    if isinstance(config, (str, Path)):
        return str(config)
    raise TypeError(f"a config holds data (dicts, lists, numbers, strings, arrays), not {type(config).__name__}: "
                    f"{config!r}")


def class_path(obj: Any) -> str:
    """``module.ClassName`` of ``obj``'s class: how identities name the kind of a system or an encoder."""
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def config_hash(config: Any) -> str:
    """The content hash of a config: ``"sha256:"`` and the hex SHA-256 of its canonical JSON (keys sorted, no
    whitespace). Equal configs give equal hashes, whatever their key order or number types."""
    text = json.dumps(canonical(config), sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def config_differences(old: Any, new: Any) -> list[tuple[str, Any, Any]]:
    """The fields in which two configs differ, as ``(dotted path, old value, new value)`` in the order of ``old``'s
    keys (then the keys only ``new`` has). Mappings are compared key by key, everything else (lists included) as a
    whole; a missing key has the value ``None``."""
    found: list[tuple[str, Any, Any]] = []

    def walk(a: Any, b: Any, path: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in [*a, *(k for k in b if k not in a)]:
                walk(a.get(key), b.get(key), f"{path}.{key}" if path else key)
        elif a != b:
            found.append((path or "(the whole config)", a, b))

    walk(canonical(old), canonical(new), "")
    return found
