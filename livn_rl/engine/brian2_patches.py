"""Two changes to how Brian2 runs a network, both undone when the run ends.

- :func:`without_gc_collect`: Brian2 2.9 runs a full ``gc.collect()`` at the start of every ``Network.run`` only to
  warn about unused objects, which costs 65-270 ms per call.
- :func:`call_code_directly`: ``Network.run`` calls the compiled Cython ``main`` of each object's code directly
  instead of through three layers of Python.
"""

from __future__ import annotations

import functools
import types
from contextlib import contextmanager
from typing import Any, Callable, Iterator

__all__ = ["call_code_directly", "restore_calls", "without_gc_collect"]


class _NoCollect(types.SimpleNamespace):
    """Stands in for ``gc`` inside ``brian2.core.network`` while a run starts."""

    @staticmethod
    def collect(*args: Any, **kwargs: Any) -> int:
        return 0


@contextmanager
def without_gc_collect() -> Iterator[None]:
    """Skip Brian2's ``gc.collect()`` for the runs started inside the ``with`` block."""
    import brian2.core.network as brian2_network

    real_gc = brian2_network.gc
    brian2_network.gc = _NoCollect()
    try:
        yield
    finally:
        brian2_network.gc = real_gc


def call_code_directly(net, skip) -> list:
    """Let ``Network.run`` call the compiled Cython ``main`` of each object's code directly.

    At every time step ``Network.run`` calls ``obj.run()`` of each object, which calls each of its code objects, which
    update their namespace and call ``run_block``, which calls the compiled ``main(namespace)``. For code objects
    whose namespace never changes during a run (no dynamic arrays resized from outside), the object's ``run`` can be
    replaced by ``main`` bound to its namespace: the same compiled code on the same data, about 1 us less per object
    and time step. Code objects are re-created by every ``run()``, so this is done at the first time step of each
    run and undone when the run ends (:func:`restore_calls`). The numpy target is left alone.

    :param net: the running ``brian2.Network``
    :param skip: an object left as it is (the engine's control operation)
    :returns: the objects whose ``run`` was replaced
    """
    from brian2.core.base import BrianObject

    patched = []
    for obj in net.sorted_objects:
        if obj is skip or type(obj).run is not BrianObject.run or not obj.active:
            continue
        calls: list[Callable[[], Any]] | None = []
        for codeobj in obj._code_objects:
            compiled = getattr(codeobj, "compiled_code", {}).get("run") if codeobj is not None else None
            main = getattr(compiled, "main", None)
            if main is None or codeobj.nonconstant_values or not callable(main):
                calls = None
                break
            calls.append(functools.partial(main, codeobj.namespace))
        if not calls:
            continue
        if len(calls) == 1:
            obj.run = calls[0]
        else:
            obj.run = functools.partial(_call_all, tuple(calls))
        patched.append(obj)
    net._livn_rl_patched = patched
    return patched


def _call_all(calls) -> None:
    for call in calls:
        call()


def restore_calls(net) -> None:
    """Undo :func:`call_code_directly` (the code objects it bound die with the run)."""
    for obj in getattr(net, "_livn_rl_patched", ()):
        obj.__dict__.pop("run", None)
    net._livn_rl_patched = []
