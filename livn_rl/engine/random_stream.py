"""The engine's random numbers: Brian2's run-time draws come from a per-simulation ``numpy.random.Generator``.

Brian2's runtime targets draw through the attributes ``numpy.random.rand``/``randn``/``poisson``/``binomial`` at
call time. :func:`drawing_from` points those attributes at one simulation's :class:`BrianRandom` while that
simulation's run is in progress, so the user's ``numpy.random`` state changes nothing in the simulation and the
simulation changes nothing of the user's.
"""

from __future__ import annotations

import queue
import threading
import weakref
from contextlib import contextmanager
from typing import Any, Iterator

import numpy as np

__all__ = ["BRIAN2_RANDOM_FUNCTIONS", "BrianRandom", "drawing_from", "forget_buffer_owner"]

#: The numpy.random functions Brian2 calls at run time (runtime targets).
BRIAN2_RANDOM_FUNCTIONS = ("rand", "randn", "poisson", "binomial")
#: The owner (a simulation) whose stream filled Brian2's (process-wide) Cython random buffers last.
_buffer_owner: weakref.ref | None = None


class BrianRandom:
    """The ``numpy.random`` functions Brian2 calls at run time, drawn from ``numpy.random.Generator`` streams.

    Brian2's Cython code refills a buffer of 20,000 Gaussians with ``numpy.random.randn(20000)``; the background
    noise takes one per neuron per time step. A Generator takes 17 ns per Gaussian on our machines (the legacy
    ``RandomState`` 40 ns), a fifth of the time step of 16 packed S2 copies. So a producer thread draws them ahead, in
    batches whose filling releases the GIL and runs on the other core while Brian2 integrates. One thread draws
    every Gaussian of the stream, in order, so the numbers do not depend on timing. ``rand``, ``poisson`` and
    ``binomial`` come from a second, independent Generator.

    :param seed: seed of both streams
    """

    CHUNK = 20000  # Brian2's buffer size (brian2.codegen.generators.cython_generator._BUFFER_SIZE)
    BATCH = 16  # chunks drawn per call of the producer
    AHEAD = 48  # chunks kept ready at most

    def __init__(self, seed: int) -> None:
        normal_seed, other_seed = np.random.SeedSequence(seed).spawn(2)
        self._normal_generator = np.random.default_rng(normal_seed)
        self.generator = np.random.default_rng(other_seed)
        self._chunks: queue.Queue = queue.Queue(maxsize=self.AHEAD)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rest = np.empty(0)

    def _next_chunk(self) -> np.ndarray:
        if self._thread is None:
            self._thread = threading.Thread(
                target=_produce_normals, args=(self._normal_generator, self._chunks, self._stop, self.CHUNK, self.BATCH),
                name="livn_rl-normals", daemon=True,
            )
            self._thread.start()
        while True:
            try:
                return self._chunks.get(timeout=1.0)
            except queue.Empty:
                if not self._thread.is_alive():
                    raise RuntimeError("the random number thread ended") from None

    def randn(self, *shape: int) -> Any:
        n = int(np.prod(shape)) if shape else 1
        if shape == (self.CHUNK,) and not self._rest.size:
            return self._next_chunk()  # a fresh array that owns its data: Brian2's Cython code takes it over
        out = np.empty(n)
        filled = 0
        while filled < n:
            if not self._rest.size:
                self._rest = self._next_chunk()
            take = min(n - filled, self._rest.size)
            out[filled : filled + take] = self._rest[:take]
            self._rest = self._rest[take:]
            filled += take
        return out.reshape(shape) if shape else float(out[0])

    def rand(self, *shape: int) -> Any:
        return self.generator.random(shape if shape else None)

    def poisson(self, lam: Any = 1.0, size: Any = None) -> Any:
        return self.generator.poisson(lam, size)

    def binomial(self, n: Any, p: Any, size: Any = None) -> Any:
        return self.generator.binomial(n, p, size)

    def close(self) -> None:
        self._stop.set()

    def __del__(self) -> None:
        self._stop.set()


def _produce_normals(generator, chunks: queue.Queue, stop: threading.Event, size: int, batch: int) -> None:
    """Draw Gaussians in batches (the GIL is released while numpy fills them) and queue them in chunks that own
    their memory."""
    while not stop.is_set():
        drawn = generator.standard_normal((batch, size))
        for row in drawn:
            chunk = row.copy()
            while True:
                try:
                    chunks.put(chunk, timeout=0.2)
                    break
                except queue.Full:
                    if stop.is_set():
                        return


def forget_buffer_owner() -> None:
    """Make the next :func:`drawing_from` empty Brian2's pre-drawn buffers (after a stream was replaced)."""
    global _buffer_owner
    _buffer_owner = None


@contextmanager
def drawing_from(owner: object, stream: BrianRandom) -> Iterator[None]:
    """Point Brian2's random draws at ``stream`` (the stream of ``owner``) inside the ``with`` block.

    Swapping the ``numpy.random`` attributes (a microsecond) isolates the stream, where copying numpy's global state
    costs 140 us a step. Brian2's Cython code keeps a buffer of pre-drawn numbers; when another owner used it last,
    it is emptied so that this one refills it from its own stream.
    """
    import brian2

    global _buffer_owner
    saved = {name: getattr(np.random, name) for name in BRIAN2_RANDOM_FUNCTIONS}
    for name in BRIAN2_RANDOM_FUNCTIONS:
        setattr(np.random, name, getattr(stream, name))
    if _buffer_owner is None or _buffer_owner() is not owner:
        device = brian2.get_device()
        for index in ("rand_buffer_index", "randn_buffer_index"):
            if hasattr(device, index):
                getattr(device, index)[:] = 0
        _buffer_owner = weakref.ref(owner)
    try:
        yield
    finally:
        for name, function in saved.items():
            setattr(np.random, name, function)
