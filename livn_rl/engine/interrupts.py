"""Ctrl-C (SIGINT) while simulations run: a ``KeyboardInterrupt`` in the main thread at the next step boundary.

Brian2 installs a SIGINT handler that, while any ``Network.run`` is in progress, sets a class-wide stop flag instead
of raising ``KeyboardInterrupt``. The engine's parked runs are always in progress, so with Brian2's handler alone a
Ctrl-C would end every simulation in the process and no ``KeyboardInterrupt`` would reach the user. :func:`install`
puts a handler in front of Brian2's that raises ``KeyboardInterrupt`` as Python normally does, and leaves Brian2's
graceful stop to a user's own ``Network.run`` in the main thread.

Inside :func:`hold_interrupts` the interrupt is held back and raised when the block ends. The engine holds it over
one step (from handing the command to the worker thread to the bookkeeping of its result), so a simulation is always
left between two steps and can step on; training holds it while it writes an evaluation and its checkpoint. A second
Ctrl-C inside the block raises at once (the engine then stops that simulation's run; ``reset()`` starts it again).
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

__all__ = ["install", "hold_interrupts"]

_installed = False
_depth = 0  # nested hold_interrupts blocks in the main thread
_pending = 0  # Ctrl-Cs received inside them


def _in_plain_brian2_run(frame) -> bool:
    """Whether the main thread is inside a ``Network.run`` of its own (a user's network, not a parked engine run)."""
    import brian2.core.network as brian2_network

    while frame is not None:
        code = frame.f_code
        if code.co_name == "run" and code.co_filename == brian2_network.__file__:
            return True
        frame = frame.f_back
    return False


def install() -> None:
    """Put the engine's SIGINT handler in front of the current one (Brian2's). Only the main thread can install
    signal handlers; from other threads, and once installed, this does nothing."""
    global _installed
    if _installed or threading.current_thread() is not threading.main_thread():
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum, frame):
        global _pending
        if _in_plain_brian2_run(frame) and callable(previous):
            return previous(signum, frame)  # Brian2's graceful stop of the user's own run
        if _depth:
            _pending += 1
            if _pending == 1:
                return  # raised when the step ends (hold_interrupts)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    _installed = True


@contextmanager
def hold_interrupts() -> Iterator[None]:
    """Hold back Ctrl-C inside the block and raise it as ``KeyboardInterrupt`` when the block ends (main thread), so
    that what the block writes is never left half-done by the first Ctrl-C."""
    global _depth, _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    install()
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if not _depth and _pending:
            _pending = 0
            raise KeyboardInterrupt
