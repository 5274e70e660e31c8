"""``livn-rl envs``: list the registered Gymnasium environments, or describe one (arguments, spaces, encoder)."""

from __future__ import annotations

import argparse
import json
import math
import sys

from livn_rl.cli.common import add_command, one_line, resolve_env_id

__all__ = ["add_parser", "cmd_envs"]

ENVS_DESCRIPTION = """\
List the registered Gymnasium environments (gym.make("livn_rl/...")) with their task, culture, observation shape,
action space, simulated window per step and time limit (max_episode_steps), or describe one environment in detail:
what it does, the keyword arguments gym.make accepts (with their defaults), its spaces and, for tasks driven through
the culture, its encoder and decoder.

Spaces are read from a constructed env (Brian2's numpy target; the culture's simulation is only built at the first
reset), so this takes a second or two and compiles nothing.
"""

ENVS_EPILOG = """\
columns:
  task       the Gymnasium task driven through the culture (e.g. Pendulum-v1),
             or the culture-control task (RateClamp, Pattern, BurstSuppression)
  obs        shape of the observation (a float32 Box)
  action     the agent's action space
  window     simulated culture time per env step (ms)
  max steps  max_episode_steps (episodes are truncated there)

ENV can be the full id (livn_rl/Pendulum-S2-v0), the id without its namespace
(Pendulum-S2-v0), or the module-prefixed id gym.make also accepts
(livn_rl:livn_rl/Pendulum-S2-v0).

examples:
  livn-rl envs
  livn-rl envs --json
  livn-rl envs livn_rl/Pendulum-S2-v0
  livn-rl envs RateClamp-S2-v0 --json

in Python:
  import gymnasium as gym, livn_rl
  env = gym.make("livn_rl/Pendulum-S2-v0", encoder="rate", window_ms=100)
  venv = gym.make_vec("livn_rl/Pendulum-S2-v0", num_envs=16)
"""


def add_parser(commands) -> None:
    """Add ``envs`` to the ``livn-rl`` sub-parsers."""
    envs = add_command(commands, "envs", help="list the registered Gymnasium environments, or describe one",
                       description=ENVS_DESCRIPTION, epilog=ENVS_EPILOG, handler=cmd_envs)
    envs.add_argument("env_id", nargs="?", metavar="ENV",
                      help="a registered env id (e.g. livn_rl/Pendulum-S2-v0) to describe in detail")
    envs.add_argument("--json", action="store_true", help="print JSON instead of text")


#: gym.make_vec accepts these on top of the single env's arguments.
VECTOR_KWARGS = ("max_episode_steps", "autoreset_mode")


def _fmt_space(space) -> str:
    """A space on one line: ``Box(-1, 1, (16,))`` for uniform bounds, ``Box((3,))`` otherwise, ``Discrete(2)``."""
    import gymnasium as gym
    import numpy as np

    if isinstance(space, gym.spaces.Box):
        if np.all(space.low == space.low.flat[0]) and np.all(space.high == space.high.flat[0]):
            return f"Box({space.low.flat[0]:g}, {space.high.flat[0]:g}, {space.shape})"
        return f"Box({space.shape})"
    return str(space)


def _space_facts(space) -> dict:
    import gymnasium as gym
    import numpy as np

    facts: dict = {"type": type(space).__name__, "text": str(space)}
    if isinstance(space, gym.spaces.Box):
        facts.update(shape=list(space.shape), dtype=str(space.dtype))
        for name in ("low", "high"):
            values = getattr(space, name).astype(np.float64).ravel()
            uniform = bool(np.all(values == values[0]))
            facts[name] = _json_number(values[0]) if uniform else [_json_number(v) for v in values]
    elif isinstance(space, gym.spaces.Discrete):
        facts.update(n=int(space.n), start=int(space.start))
    return facts


def _json_number(value: float):
    """A float for JSON, with infinities as strings (JSON has no infinity)."""
    value = float(value)
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return int(value) if value.is_integer() else round(value, 6)


def _plain(text: str) -> str:
    """Docstring text on one line, without reST markup (``x`` -> x, :class:`~a.b.C` -> C)."""
    import re

    text = re.sub(r":\w+:`~?([^`]+)`", lambda m: m.group(1).rsplit(".", 1)[-1], text)
    return " ".join(text.replace("``", "").split())


def _kwarg_docs(env_class) -> dict[str, dict]:
    """Every keyword argument ``gym.make`` accepts for ``env_class``: its default (from the most derived signature
    that has it) and its ``:param name:`` text (from the most derived docstring that documents it)."""
    import inspect
    import re

    from livn_rl.envs import valid_kwargs

    defaults: dict = {}
    docs: dict[str, str] = {}
    for cls in env_class.__mro__:
        if not isinstance(cls, type) or cls.__module__.split(".")[0] != "livn_rl":
            continue
        for name, param in inspect.signature(cls.__init__).parameters.items():
            if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD) or name in defaults:
                continue
            defaults[name] = param.default
        for name, text in re.findall(r":param (\w+):(.*?)(?=\n\s*:param |\n\s*\n|\Z)", inspect.getdoc(cls) or "", re.S):
            docs.setdefault(name, _plain(text))
    out = {}
    for name in valid_kwargs(env_class):
        default = defaults.get(name, inspect.Parameter.empty)
        out[name] = {"default": None if default is inspect.Parameter.empty else default,
                     "required": default is inspect.Parameter.empty, "help": docs.get(name, "")}
    return out


def _env_facts(env_id: str, detail: bool) -> dict:
    """Facts about a registered env, from its spec and from an env constructed on the numpy target (cheap: the
    Brian2 simulation is only built at the first reset)."""
    import inspect

    import gymnasium as gym

    from livn_rl.envs import CultureControlEnv, NeuralTaskEnv

    spec = gym.spec(env_id)
    try:
        env = gym.make(env_id, target="numpy")
    except Exception as err:  # a broken registration: an internal error, not the user's
        raise RuntimeError(f"cannot construct {env_id}: {type(err).__name__}: {one_line(err)}") from err
    try:
        base = env.unwrapped
        cls = type(base)
        neural_task = isinstance(base, NeuralTaskEnv)
        system = spec.kwargs.get("system", base.system.name)
        facts = {
            "id": env_id,
            "task": base.task_id if neural_task else spec.name.removesuffix(f"-{system}"),
            "kind": "neural_task" if neural_task else "culture_control" if isinstance(base, CultureControlEnv) else "reference_circuit",
            "system": system,
            "observation_shape": list(base.observation_space.shape),
            "action_space": _fmt_space(base.action_space),
            "action_shape": list(base.action_space.shape),
            "window_ms": base.window_ms,
            "max_episode_steps": spec.max_episode_steps,
        }
        if not detail:
            return facts
        doc = inspect.getdoc(cls) or ""
        kwargs = _kwarg_docs(cls)
        for name, value in spec.kwargs.items():
            if name in kwargs:
                kwargs[name].update(default=value, registered=True)
        facts.update({
            "class": f"{cls.__module__}.{cls.__qualname__}",
            "description": _plain(doc.split("\n\n")[0]),
            "entry_point": spec.entry_point,
            "vector_entry_point": spec.vector_entry_point,
            "registered_kwargs": dict(spec.kwargs),
            "kwargs": kwargs,
            "vector_kwargs": list(VECTOR_KWARGS),
            "observation_space": _space_facts(base.observation_space),
            "action_space_detail": _space_facts(base.action_space),
            "system_facts": {"neurons": base.system.n_neurons, "channels": base.mea.n_channels},
        })
        if neural_task:
            facts["task_action_space"] = str(base.task.action_space)
            facts["encoder"] = repr(base.encoder)
            facts["decoder"] = repr(base.decoder)
        return facts
    finally:
        env.close()


def cmd_envs(args: argparse.Namespace) -> int:
    """``livn-rl envs [ENV] [--json]``."""
    from livn_rl.envs import env_ids

    if args.env_id:
        facts = _env_facts(resolve_env_id(args.env_id), detail=True)
        if args.json:
            print(json.dumps(facts, indent=2, default=repr))  # defaults that are not JSON types: by repr
        else:
            _print_env_details(facts)
        return 0

    rows, broken = [], []
    for env_id in env_ids():  # one env that fails to describe itself does not hide the others
        try:
            rows.append(_env_facts(env_id, detail=False))
        except Exception as err:
            broken.append({"id": env_id, "error": one_line(err)})
    if args.json:
        print(json.dumps(rows + broken, indent=2))
    else:
        table = [("id", "task", "system", "obs", "action", "window", "max steps")]
        for f in rows:
            table.append((f["id"], f["task"], f["system"], str(tuple(f["observation_shape"])), f["action_space"],
                          f"{f['window_ms']:g} ms", f"{f['max_episode_steps']}"))
        widths = [max(len(r[k]) for r in table) for k in range(len(table[0]))]
        right = {5, 6}
        for r in table:
            print("  ".join(c.rjust(w) if k in right else c.ljust(w) for k, (c, w) in enumerate(zip(r, widths))).rstrip())
        for f in broken:
            print(f"{f['id']}  error: {f['error']}")
        print(f"\n{len(rows)} envs. gym.make(ID) makes one (import livn_rl first, or write 'livn_rl:ID'); "
              "gym.make_vec(ID, num_envs=K)\nsimulates K copies in one network. Details: livn-rl envs ID")
    if broken:
        print(f"livn-rl envs: {len(broken)} registered env(s) could not be constructed: "
              + "; ".join(f"{f['id']} ({f['error']})" for f in broken), file=sys.stderr)
        return 1
    return 0


def _print_env_details(f: dict) -> None:
    import textwrap

    print(f"{f['id']}: {f['description']}" if f["description"] else f["id"])
    print(f"class:        {f['class']}")
    kind = {"neural_task": "a Gymnasium task driven through the culture", "culture_control": "culture control"}.get(f["kind"], "reference circuit")
    print(f"task:         {f['task']} ({kind})")
    n = f["system_facts"]
    print(f"system:       {f['system']} ({n['neurons']:,} neurons, {n['channels']} channels)")
    print(f"window:       {f['window_ms']:g} ms of culture time per step")
    print(f"time limit:   {f['max_episode_steps']} steps (max_episode_steps; a truncation)")
    print(f"observation:  {f['observation_space']['text']}")
    print(f"action:       {f['action_space_detail']['text']}")
    if f["kind"] == "neural_task":
        print(f"task action:  {f['task_action_space']} (what the decoder hands the task)")
        print(f"encoder:      {f['encoder']}")
        print(f"decoder:      {f['decoder']}")
    print("keyword arguments of gym.make (default; * = set by the registration):")
    width = max(len(name) for name in f["kwargs"])
    for name, k in f["kwargs"].items():
        default = "required" if k["required"] else repr(k["default"])
        if name == "window_ms" and k["default"] is None:
            default = f"None ({f['window_ms']:g} ms, the task's time step)"
        mark = "*" if k.get("registered") else " "
        head = f"  {mark}{name.ljust(width)}  {default}"
        lines = textwrap.wrap(k["help"], 100, initial_indent=" " * (width + 5), subsequent_indent=" " * (width + 5))
        print(head if not lines else f"{head}\n" + "\n".join(lines))
    print(f"vector env:   gym.make_vec('{f['id']}', num_envs=K) simulates K copies in one network; it also "
          f"takes {' and '.join(f['vector_kwargs'])}")
