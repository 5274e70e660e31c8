"""Argument checks shared across livn_rl: one message format for every numeric parameter."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["check_number", "check_whole"]


def check_number(name: str, value: Any, low: float | None = None, high: float | None = None, *,
                 low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a float, or a ``ValueError`` naming it, the range it must lie in and the value it got.

    :param name: how the message names the parameter (e.g. ``"RateEncoder max_rate_hz"``)
    :param value: the value to check (``bool`` is refused: it is not a number here)
    :param low: smallest allowed value, if any
    :param high: largest allowed value, if any
    :param low_open: whether ``low`` itself is excluded
    :param high_open: whether ``high`` itself is excluded
    """
    bounds = ""
    if low is not None and high is not None:
        bounds = f" in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    elif low is not None:
        bounds = f" {'>' if low_open else '>='} {low:g}"
    elif high is not None:
        bounds = f" {'<' if high_open else '<='} {high:g}"
    message = f"{name} must be a finite number{bounds}, got {value!r}"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not np.isfinite(value):
        raise ValueError(message)
    value = float(value)
    if low is not None and (value < low or (low_open and value == low)):
        raise ValueError(message)
    if high is not None and (value > high or (high_open and value == high)):
        raise ValueError(message)
    return value


def check_whole(name: str, value: Any, low: int = 0, high: int | None = None) -> int:
    """``value`` as an int, or a ``ValueError`` naming it, the range it must lie in and the value it got (``bool``
    and floats are refused, even 2.0: a count given as a float is usually a mistake upstream).

    :param name: how the message names the parameter
    :param value: the value to check
    :param low: smallest allowed value
    :param high: largest allowed value, if any
    """
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low or (high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in {low}..{high}"
        raise ValueError(f"{name} must be a whole number {bounds}, got {value!r}")
    return int(value)
