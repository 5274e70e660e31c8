"""What clients may send: small JSON commands, each checked field by field before anything changes.

A message is a JSON object ``{"cmd": NAME, FIELD: VALUE, ...}`` of at most :data:`MAX_MESSAGE_BYTES`. Anything
else (binary data, malformed JSON, ``NaN``, an unknown command or field, a value out of range, a longer message)
raises :class:`CommandError`, whose text the server sends back to that client alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable

from livn_rl.checks import check_number, check_whole

__all__ = ["MAX_MESSAGE_BYTES", "Command", "CommandError", "choice", "number", "parse_command", "whole"]

#: The longest message a client may send; longer ones get an error frame (the connection itself closes only
#: above the server's ``max_size``).
MAX_MESSAGE_BYTES = 4096

Checker = Callable[[str, Any], Any]


class CommandError(ValueError):
    """A client message that cannot be carried out; its text says why."""


@dataclass(frozen=True)
class Command:
    """The fields one command accepts.

    :param fields: field name -> checker (``checker(name, value)`` returns the checked value or raises ``ValueError``)
    :param required: fields that must be given
    :param needs_one: at least one field must be given (``set`` with nothing to set is a mistake)
    """

    fields: dict[str, Checker] = field(default_factory=dict)
    required: tuple[str, ...] = ()
    needs_one: bool = False


def number(low: float | None = None, high: float | None = None, **bounds: bool) -> Checker:
    """A checker for a finite number in a range (``low_open``/``high_open`` as in :func:`check_number`)."""
    return lambda name, value: check_number(name, value, low, high, **bounds)


def whole(low: int = 0, high: int | None = None) -> Checker:
    """A checker for a whole number in a range."""
    return lambda name, value: check_whole(name, value, low, high)


def choice(*options: str) -> Checker:
    """A checker for one of ``options``."""

    def check(name: str, value: Any) -> str:
        if value not in options:
            raise ValueError(f"{name} must be one of {list(options)}, got {value!r}")
        return value

    return check


def _no_constants(text: str) -> float:
    raise ValueError(f"{text} is not a number JSON allows")


def parse_command(message: str | bytes, commands: dict[str, Command]) -> tuple[str, dict[str, Any]]:
    """The command name and its checked fields.

    :param message: one WebSocket message as received
    :param commands: the commands this server understands
    :raises CommandError: for anything but a valid command (the message says what was wrong and what is expected)
    """
    if isinstance(message, (bytes, bytearray, memoryview)):
        raise CommandError('binary messages are not understood; send JSON text such as {"cmd": "pause"}')
    size = len(message.encode("utf-8", "surrogatepass"))
    if size > MAX_MESSAGE_BYTES:
        raise CommandError(f"message of {size} bytes is longer than the {MAX_MESSAGE_BYTES} bytes allowed")
    try:
        data = json.loads(message, parse_constant=_no_constants)
    except ValueError as err:
        raise CommandError(f"malformed JSON ({err}); send an object such as {{\"cmd\": \"pause\"}}") from None
    if not isinstance(data, dict):
        raise CommandError(f'a command must be a JSON object such as {{"cmd": "pause"}}, got {type(data).__name__}')
    name = data.pop("cmd", None)
    if not isinstance(name, str) or name not in commands:
        raise CommandError(f"unknown command {name!r}; the commands are {sorted(commands)}")
    spec = commands[name]
    unknown = sorted(set(data) - set(spec.fields))
    if unknown:
        raise CommandError(f"{name!r} takes no field(s) {unknown}; its fields are {sorted(spec.fields)}")
    missing = [key for key in spec.required if key not in data]
    if missing:
        raise CommandError(f"{name!r} needs the field(s) {missing}")
    if spec.needs_one and not data:
        raise CommandError(f"{name!r} needs at least one of the fields {sorted(spec.fields)}")
    checked = {}
    for key, value in data.items():
        try:
            checked[key] = spec.fields[key](key, value)
        except ValueError as err:
            raise CommandError(str(err)) from None
    return name, checked
