"""Helpers shared by the ``livn-rl`` commands: the parser class, usage errors, help text and argument checks.

Each command lives in its own module of this package with ``add_parser(commands)``, which adds its sub-parser and
sets its handler; :mod:`~livn_rl.cli.main` assembles them.
"""

from __future__ import annotations

import argparse
import difflib
import json
import textwrap
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

__all__ = [
    "CONTROL_DT_MS", "DT_MS", "Interrupted", "Parser", "UsageError", "add_command", "check_output", "config_mea", "fill",
    "one_line", "parse_env_args", "resolve_config", "resolve_env_id", "usage_errors",
]

#: Integration time step and control granularity of the simulations this command runs (ms).
DT_MS = 0.1
CONTROL_DT_MS = 1.0


class UsageError(Exception):
    """A bad command-line value: reported on one line, exit code 2."""


class Interrupted(Exception):
    """A command stopped by Ctrl-C: the message says what was kept and how to continue (exit code 130)."""


@contextmanager
def usage_errors(prefix: str = "") -> Iterator[None]:
    """Report a ``ValueError`` (bad argument, unusable dataset folder) raised inside the block as a usage error.

    Use it around a command's checks, not around its work: an error while simulating or training is an internal
    error, reported with its traceback and exit code 1.
    """
    try:
        yield
    except ValueError as err:
        raise UsageError(f"{prefix}{err}") from None


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line on stderr (exit code 2) pointing at --help."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def fill(text: str, width: int = 79) -> str:
    """Re-wrap every paragraph of ``text`` (paragraphs are separated by blank lines) to ``width`` columns."""
    return "\n\n".join(textwrap.fill(" ".join(p.split()), width) for p in text.strip().split("\n\n")) + "\n"


def one_line(message: object) -> str:
    """``message`` on one line (for error messages)."""
    return " ".join(str(message).split())


def add_command(commands, name: str, *, help: str, description: str, epilog: str, handler) -> argparse.ArgumentParser:
    """Add the sub-parser ``name`` with a re-wrapped ``description``, a verbatim ``epilog`` and its ``handler``."""
    parser = commands.add_parser(name, help=help, description=fill(description), epilog=epilog,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(handler=handler)
    return parser


def resolve_env_id(spec: str) -> str:
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


def resolve_config(spec: str):
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


def config_mea(config):
    """The config's default MEA, built without generating the culture (cheap)."""
    from livn_rl.mea import MEA

    grid = dict(config.mea)
    try:
        return MEA.grid(grid.pop("rows"), grid.pop("cols"), grid.pop("pitch_um"), **grid)
    except (TypeError, ValueError) as err:
        raise UsageError(f"system {config.name!r} has an invalid MEA: {err}") from None


def check_output(path: str, what: str, formats: Sequence[str] | None = None) -> Path:
    """``path`` as a file to write (its folder created), or a UsageError naming ``what`` (the option)."""
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


def parse_env_args(pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs (``--env-arg``) as env keyword arguments; values are JSON or plain strings."""
    kwargs = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--env-arg {pair!r} must be KEY=VALUE, e.g. target=numpy")
        try:
            kwargs[key] = json.loads(value)
        except json.JSONDecodeError:
            kwargs[key] = value
    return kwargs
