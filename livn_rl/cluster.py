"""Connecting to a Ray cluster (the optional extra ``livn_rl[distributed]``), with errors that say what to do.

Sampling (:mod:`livn_rl.data.ray_sampling`), seed sweeps (:mod:`livn_rl.experiments.ray_seeds`) and RLlib
(:mod:`livn_rl.envs.rllib`) use it; nothing here knows about simulations.

>>> with ray_session("auto"):          # the cluster this machine belongs to (``ray start`` ran here)
...     ...
>>> with ray_session("10.0.0.5:6379"):  # a head node's GCS address
...     ...
>>> with ray_session(None, num_cpus=2):  # a private Ray started in this process, stopped at the end
...     ...
"""

from __future__ import annotations

import re
import socket
from contextlib import contextmanager
from typing import Any, Iterator

__all__ = ["ClusterError", "EXTRA", "check_address", "import_ray", "ray_session"]

#: The pip extra that installs Ray.
EXTRA = "livn_rl[distributed]"
#: Seconds to wait for a head node's port before giving up (Ray itself retries for a minute).
CONNECT_TIMEOUT_S = 5.0


class ClusterError(RuntimeError):
    """Ray is missing, or the cluster cannot be reached or used."""


def import_ray():
    """The ``ray`` module, or a :class:`ClusterError` naming the extra that installs it."""
    try:
        import ray
    except ImportError:
        raise ClusterError(f"Ray is not installed: pip install \"{EXTRA}\" (or pip install \"ray[default]\")") from None
    return ray


def check_address(address: str | None) -> str | None:
    """``address`` checked: None (a private local Ray), ``"auto"`` or ``HOST:PORT`` whose port answers within
    :data:`CONNECT_TIMEOUT_S` seconds; a :class:`ClusterError` otherwise (nothing is started or written)."""
    if address is None or address == "auto":
        return address
    match = re.fullmatch(r"(?:ray://)?\[?([\w.\-:]+?)\]?:(\d{1,5})", str(address).strip())
    if match is None or not 0 < int(match.group(2)) < 65536:
        raise ClusterError(f"cluster address {address!r} must be 'auto' or HOST:PORT, e.g. 127.0.0.1:6379 (the "
                           "--port of `ray start --head`)")
    host, port = match.group(1), int(match.group(2))
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as err:
        raise ClusterError(f"no Ray cluster answers at {address} ({err.strerror or err}); start one with `ray start "
                           f"--head --port {port}` on {host}, or check the address") from None
    return f"{host}:{port}"


@contextmanager
def ray_session(address: str | None, *, num_cpus: int | None = None, **init_kwargs: Any) -> Iterator[Any]:
    """Connect to the Ray cluster at ``address`` (see :func:`check_address`) for the block, and disconnect after.

    With ``address=None`` a private Ray is started in this process with ``num_cpus`` CPUs and stopped at the end.
    An already connected process (``ray.is_initialized()``) is used as it is and left connected.

    :raises ClusterError: Ray missing, a bad or unreachable address, no cluster running for ``"auto"``
    """
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    address = check_address(address)
    kwargs: dict[str, Any] = {"logging_level": "WARNING", "log_to_driver": False, **init_kwargs}
    if address is None:
        kwargs.update(num_cpus=num_cpus, include_dashboard=False)
    try:
        ray.init(address=address, **kwargs)
    except (ConnectionError, RuntimeError) as err:
        raise ClusterError(f"cannot connect to the Ray cluster at {address}: {' '.join(str(err).split())[:300]}") from None
    try:
        yield ray
    finally:
        ray.shutdown()
