"""Files that are complete or absent: written under a hidden temporary name beside their place, then renamed.

A rename within a folder is atomic on POSIX, so a reader (or a run resumed after a kill) sees the old file or the
new one, never half of one. Every file livn_rl writes for users goes through here.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: Matches the temporary files of :func:`atomic_path` in a folder (a killed writer leaves one behind).
PARTIAL_GLOB = ".*.partial-*"


def partial_path(path: str | Path) -> Path:
    """Where ``path`` is written before its rename: hidden, with the writer's process id (two writers never share
    it) and ``path``'s suffix (tools such as ffmpeg choose the format by it)."""
    path = Path(path)
    return path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield the temporary path to write ``path`` to; when the block ends without an error it is renamed to
    ``path``, otherwise deleted.

    :param path: the file's final place (its folder must exist)
    """
    path = Path(path)
    partial = partial_path(path)
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_path(path) as partial:
        partial.write_bytes(data)
    return Path(path)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically and return the path."""
    with atomic_path(path) as partial:
        partial.write_text(text, encoding="utf-8")
    return Path(path)


def copy_file(source: str | Path, target: str | Path) -> Path:
    """Copy the file ``source`` to ``target`` atomically and return ``target``."""
    with atomic_path(target) as partial:
        shutil.copyfile(source, partial)
    return Path(target)


def write_json(path: str | Path, data: Any, indent: int | None = 2) -> Path:
    """Write ``data`` as JSON to ``path`` atomically and return the path."""
    return write_text(path, json.dumps(data, indent=indent))


__all__ = ["PARTIAL_GLOB", "atomic_path", "copy_file", "partial_path", "write_bytes", "write_json", "write_text"]
