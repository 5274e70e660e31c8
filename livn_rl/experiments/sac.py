"""Train stable-baselines3 SAC on a registered env with periodic deterministic evaluation, and draw learning curves.

One run is one seed of one condition (online SAC, or SAC pretrained on a dataset's replay buffer first). Every
evaluation is appended to a JSONL file as it happens, so a run that is stopped keeps what it measured. With a
checkpoint folder, the model, its replay buffer and the step count are saved at every evaluation and when the run is
stopped with Ctrl-C, and ``resume=True`` continues from there.

>>> result = train_sac("livn_rl/Pendulum-S2-v0", timesteps=20_000, seed=0, log_path="out/evaluations.jsonl")
>>> result.evaluations[-1]["mean_return"]
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import gymnasium as gym
import numpy as np

from livn_rl.atomic import atomic_path, write_json, write_text
from livn_rl.checks import check_whole
from livn_rl.engine.interrupts import hold_interrupts

#: rl-baselines3-zoo's tuned SAC hyperparameters for the tasks our envs wrap (hyperparams/sac.yml); anything not
#: listed is stable-baselines3's default (buffer 1e6, batch 256, learning starts 100, tau 0.005, gamma 0.99,
#: train_freq 1, one gradient step per step, automatic entropy coefficient).
RL_ZOO_SAC: dict[str, dict[str, Any]] = {
    "Pendulum-v1": {"learning_rate": 1e-3},
    "MountainCarContinuous-v0": {
        "learning_rate": 3e-4, "buffer_size": 50_000, "batch_size": 512, "ent_coef": 0.1, "train_freq": 32,
        "gradient_steps": 32, "gamma": 0.9999, "tau": 0.01, "learning_starts": 0, "use_sde": True,
        "policy_kwargs": {"log_std_init": -3.67, "net_arch": [64, 64]},
    },
}

#: Reward levels a run is scored against (steps to reach each) where the task's own spec has no reward_threshold:
#: for Pendulum the levels of docs/benchmarks.md (-250: swings up and holds most of the time; -500: swings up).
TASK_THRESHOLDS: dict[str, tuple[float, ...]] = {"Pendulum-v1": (-250.0, -500.0)}

#: Seed of the first evaluation episode: evaluations use seeds EVAL_SEED, EVAL_SEED + 1, ... every time, so every
#: policy (and the random baseline) is scored on the same episodes.
EVAL_SEED = 10_000


def task_of(env_id: str) -> str:
    """The Gymnasium task a registered env wraps (``"Pendulum-v1"`` for ``"livn_rl/Pendulum-S2-v0"``), or the id
    itself for a plain Gymnasium env."""
    spec = gym.spec(env_id)
    return str(spec.kwargs.get("task", spec.id)) if is_livn_env(env_id) else spec.id


def is_livn_env(env_id: str) -> bool:
    """Whether ``env_id`` is one of livn_rl's registered envs (which run as copies of one network)."""
    return gym.spec(env_id).namespace == "livn_rl"


def reward_thresholds(env_id: str) -> tuple[float, ...]:
    """The reward levels a run on ``env_id`` is scored against: the env's own ``reward_threshold``, else the wrapped
    task's, else :data:`TASK_THRESHOLDS` for the task (empty: none known)."""
    for spec in (gym.spec(env_id), gym.spec(task_of(env_id))):
        if spec.reward_threshold is not None:
            return (float(spec.reward_threshold),)
    return TASK_THRESHOLDS.get(task_of(env_id), ())


def sac_hyperparameters(env_id: str) -> dict[str, Any]:
    """rl-zoo's SAC hyperparameters for the task ``env_id`` wraps (empty: stable-baselines3's defaults)."""
    return json.loads(json.dumps(RL_ZOO_SAC.get(task_of(env_id), {})))


def make_vec_env(env_id: str, n_envs: int, seed: int, env_kwargs: dict | None = None):
    """A stable-baselines3 VecEnv of ``n_envs`` envs: copies of one network for livn_rl envs, a DummyVecEnv
    otherwise. Env ``k`` is seeded ``seed + k`` at the first reset."""
    kwargs = dict(env_kwargs or {})
    if is_livn_env(env_id):
        from livn_rl.envs.sb3 import make_sb3_vec_env

        return make_sb3_vec_env(env_id, n_envs=n_envs, seed=seed, **kwargs)
    from stable_baselines3.common.env_util import make_vec_env as sb3_make_vec_env

    return sb3_make_vec_env(env_id, n_envs=n_envs, seed=seed, env_kwargs=kwargs)


def evaluate(policy: Callable[[np.ndarray], np.ndarray], venv, seed: int = EVAL_SEED) -> np.ndarray:
    """The return of one episode per env of ``venv`` (env ``k`` seeded ``seed + k``) under ``policy(obs) ->
    actions``. Episodes run side by side; each env's first episode counts."""
    venv.seed(seed)
    obs = venv.reset()
    returns = np.zeros(venv.num_envs)
    running = np.ones(venv.num_envs, dtype=bool)
    while running.any():
        obs, rewards, dones, _ = venv.step(policy(obs))
        returns[running] += rewards[running]
        running &= ~dones
    return returns


def random_policy(action_space: gym.spaces.Space, n_envs: int, seed: int = 0) -> Callable[[np.ndarray], np.ndarray]:
    """Uniformly random actions for ``n_envs`` envs, reproducible from ``seed``."""
    space = gym.vector.utils.batch_space(action_space, n_envs)
    space.seed(seed)
    return lambda obs: space.sample()


@dataclass
class TrainResult:
    """What one training run measured.

    :param evaluations: one dict per evaluation (``steps``, ``mean_return``, ``std_return``, ``returns``, ...)
    :param pretrain_transitions: transitions loaded from a dataset before online training (0: none)
    :param seconds: wall time of the run, evaluations and pretraining included
    """

    evaluations: list[dict] = field(default_factory=list)
    pretrain_transitions: int = 0
    seconds: float = 0.0

    def steps_to_reach(self, threshold: float) -> int | None:
        """Online steps of the first evaluation whose mean return is ``threshold`` or better (None: never)."""
        return next((e["steps"] for e in self.evaluations if e["mean_return"] >= threshold), None)


class TrainingInterrupted(KeyboardInterrupt):
    """:func:`train_sac` stopped by Ctrl-C after saving what it had (a ``KeyboardInterrupt``).

    :param steps: online steps done
    :param evaluations: the evaluations made
    :param checkpoint: the checkpoint folder, if the run kept one
    """

    def __init__(self, steps: int, evaluations: list[dict], checkpoint: Path | None) -> None:
        super().__init__(f"stopped after {steps} steps")
        self.steps, self.evaluations, self.checkpoint = steps, evaluations, checkpoint


#: The arguments of train_sac a resumed run must share with the run it continues.
CHECKPOINT_SETTINGS = ("env_id", "seed", "eval_every", "eval_episodes", "n_envs", "replay", "hyperparameters",
                       "env_kwargs", "run_name")


def read_checkpoint(folder: str | Path) -> dict | None:
    """The state of the checkpoint in ``folder`` (settings, steps, evaluations, file names), or None if none."""
    path = Path(folder) / "state.json"
    return json.loads(path.read_text()) if path.is_file() else None


def run_settings(env_id: str, *, seed: int, eval_every: int, eval_episodes: int, n_envs: int, replay, hyperparameters,
                 env_kwargs, run_name: str, replay_config: str | None = None, replay_split: str | None = None) -> dict:
    """The settings a checkpoint records (:data:`CHECKPOINT_SETTINGS`), as JSON stores them (the replay dataset as
    its path, with its config and split when given)."""
    source = None if replay is None else str(replay)
    if source is not None and (replay_config or replay_split):
        source = {"source": source, "config": replay_config, "split": replay_split}
    return json.loads(json.dumps({
        "env_id": env_id, "seed": seed, "eval_every": eval_every, "eval_episodes": eval_episodes, "n_envs": n_envs,
        "replay": source, "hyperparameters": hyperparameters,
        "env_kwargs": env_kwargs or {}, "run_name": run_name,
    }))


def check_resume(folder: str | Path, settings: dict, timesteps: int) -> dict:
    """The state of the checkpoint in ``folder`` if a run with ``settings`` can continue it to ``timesteps``
    steps; a ``ValueError`` naming what differs otherwise."""
    state = read_checkpoint(folder)
    if state is None:
        raise ValueError(f"nothing to resume: no checkpoint in {str(folder)!r}")
    changed = [k for k in CHECKPOINT_SETTINGS if state["settings"].get(k) != settings.get(k)]
    if changed:
        raise ValueError("the checkpoint was made with other settings: " + "; ".join(
            f"{k} was {state['settings'].get(k)!r}, now {settings.get(k)!r}" for k in changed))
    if timesteps < state["steps"]:
        raise ValueError(f"timesteps={timesteps} is less than the {state['steps']} steps the checkpoint has done")
    return state


def _save_checkpoint(folder: Path, model, settings: dict, evaluations: list[dict]) -> None:
    """Write model and replay buffer under names that carry the step count, then the state that names them (an
    atomic rename), then delete older files: a run killed at any moment leaves a complete checkpoint."""
    folder.mkdir(parents=True, exist_ok=True)
    steps = int(model.num_timesteps)
    model_file, buffer_file = f"model-{steps}.zip", f"replay_buffer-{steps}.pkl"
    model.save(folder / model_file)
    model.save_replay_buffer(folder / buffer_file)
    state = {"settings": settings, "steps": steps, "evaluations": evaluations, "model": model_file,
             "replay_buffer": buffer_file}
    write_json(folder / "state.json", state, indent=1)
    for old in list(folder.glob("model-*.zip")) + list(folder.glob("replay_buffer-*.pkl")):
        if old.name not in (model_file, buffer_file):
            old.unlink()


def train_sac(
    env_id: str,
    *,
    timesteps: int,
    seed: int = 0,
    eval_every: int = 1000,
    eval_episodes: int = 5,
    n_envs: int = 1,
    replay: str | Path | None = None,
    replay_config: str | None = None,
    replay_split: str | None = None,
    pretrain_steps: int | None = None,
    hyperparameters: dict[str, Any] | None = None,
    env_kwargs: dict | None = None,
    log_path: str | Path | None = None,
    run_name: str = "sac",
    progress: bool = True,
    model_path: str | Path | None = None,
    checkpoint: str | Path | None = None,
    resume: bool = False,
) -> TrainResult:
    """Train SAC on ``env_id`` for ``timesteps`` env steps, evaluating the deterministic policy every
    ``eval_every`` steps (and before training) on ``eval_episodes`` fixed episodes.

    :param env_id: a registered env id (``"livn_rl/Pendulum-S2-v0"``, or a plain one such as ``"Pendulum-v1"``)
    :param timesteps: online env steps (over all of ``n_envs`` envs)
    :param seed: seed of SAC and of the training envs
    :param eval_every: env steps between evaluations
    :param eval_episodes: evaluation episodes (seeds ``EVAL_SEED ...``; run side by side)
    :param n_envs: training envs (copies of one network for livn_rl envs)
    :param replay: a dataset folder (``livn-rl sample``), or a dataset in livn's layout (a local copy of livn's hub
        dataset, or a hub name); its samples fill the replay buffer before online training
    :param replay_config: the config of a hub dataset (livn's: the system)
    :param replay_split: the split to replay (default: a livn_rl folder's own, ``"train"`` otherwise)
    :param pretrain_steps: gradient steps on the dataset's buffer before online training (default: one per
        transition, at most 20,000)
    :param hyperparameters: SAC arguments; default :func:`sac_hyperparameters` (rl-zoo's)
    :param env_kwargs: env arguments, as for ``gym.make``
    :param log_path: append every evaluation as one JSON line to this file
    :param run_name: the ``run`` field of each logged evaluation
    :param progress: show a progress bar over training steps
    :param model_path: save the trained model here (a ``.zip``), also when the run is stopped with Ctrl-C
    :param checkpoint: a folder where the run keeps its model, replay buffer, step count and evaluations, written at
        every evaluation and when stopped with Ctrl-C
    :param resume: continue the run whose checkpoint is in ``checkpoint`` (same settings; ``timesteps`` is the total,
        at least the steps already done). Its training envs start new episodes from a seed derived from ``seed`` and
        the steps done, so a resumed run is not step-for-step the run that was not stopped.
    :raises TrainingInterrupted: on Ctrl-C, after saving the checkpoint and the model
    """
    for name, value in (("timesteps", timesteps), ("eval_every", eval_every), ("eval_episodes", eval_episodes),
                        ("n_envs", n_envs)):
        check_whole(name, value, 1)
    if pretrain_steps is not None:
        check_whole("pretrain_steps", pretrain_steps, 0)
    settings = run_settings(env_id, seed=seed, eval_every=eval_every, eval_episodes=eval_episodes, n_envs=n_envs,
                            replay=replay, hyperparameters=hyperparameters, env_kwargs=env_kwargs, run_name=run_name,
                            replay_config=replay_config, replay_split=replay_split)
    folder = Path(checkpoint) if checkpoint is not None else None
    state = None
    if resume:
        if folder is None:
            raise ValueError("resume=True needs checkpoint=, the folder of the run to continue")
        state = check_resume(folder, settings, timesteps)
    from stable_baselines3 import SAC
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.logger import Logger

    started = time.perf_counter()
    params = sac_hyperparameters(env_id) if hyperparameters is None else dict(hyperparameters)
    done = 0 if state is None else int(state["steps"])
    env_seed = seed if state is None else int(np.random.SeedSequence([seed, done]).generate_state(1)[0] % 2**31)
    env = make_vec_env(env_id, n_envs, env_seed, env_kwargs)
    eval_env = make_vec_env(env_id, eval_episodes, EVAL_SEED, env_kwargs)
    log = Path(log_path) if log_path is not None else None
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
    result = TrainResult()
    try:
        if state is not None:
            model = SAC.load(folder / state["model"], env=env)
            model.load_replay_buffer(folder / state["replay_buffer"])
            result.evaluations = list(state["evaluations"])
            result.pretrain_transitions = result.evaluations[0]["pretrain_transitions"] if result.evaluations else 0
            if log is not None:
                keep_logged(log, result.evaluations, run_name, seed)
        else:
            model = SAC("MlpPolicy", env, seed=seed, verbose=0, **params)
        model.set_logger(Logger(folder=None, output_formats=[]))  # SB3's configure() leaves a /tmp/SB3-* folder per run
        if replay is not None and state is None:
            from livn_rl.data import fill_replay_buffer

            result.pretrain_transitions = fill_replay_buffer(model.replay_buffer, replay, env_id, env_kwargs=env_kwargs,
                                                             config=replay_config, split=replay_split)
            steps = min(result.pretrain_transitions, 20_000) if pretrain_steps is None else int(pretrain_steps)
            if steps > 0:
                model.train(gradient_steps=steps, batch_size=model.batch_size)

        def record(steps: int) -> dict:
            """Evaluate (an evaluation cut short by Ctrl-C is not recorded), then log it and save the checkpoint
            with Ctrl-C held, so that the log, the evaluations and the checkpoint always agree."""
            returns = evaluate(lambda obs: model.predict(obs, deterministic=True)[0], eval_env)
            entry = {"run": run_name, "env": env_id, "seed": seed, "steps": int(steps),
                     "mean_return": float(returns.mean()), "std_return": float(returns.std()),
                     "returns": [float(r) for r in returns], "wall_seconds": round(time.perf_counter() - started, 1),
                     "pretrain_transitions": result.pretrain_transitions}
            with hold_interrupts():
                result.evaluations.append(entry)
                if log is not None:
                    with log.open("a") as f:
                        f.write(json.dumps(entry) + "\n")
                if folder is not None:
                    _save_checkpoint(folder, model, settings, result.evaluations)
            return entry

        def next_evaluation() -> int:
            """The step count of the next scheduled evaluation: the first multiple of ``eval_every`` after the last
            evaluation (derived, so that a checkpoint needs no schedule of its own)."""
            if not result.evaluations:
                return 0
            return (result.evaluations[-1]["steps"] // eval_every + 1) * eval_every

        class Progress(BaseCallback):
            """Evaluates on schedule and drives the progress bar."""

            def __init__(self) -> None:
                super().__init__()
                self.bar = None
                self.next_eval = next_evaluation()

            def _on_training_start(self) -> None:
                if progress:
                    from tqdm.auto import tqdm

                    self.bar = tqdm(total=timesteps, initial=done, unit="step", desc=f"{run_name} seed {seed}",
                                    leave=False)
                    self.bar.set_postfix(eval=f"{result.evaluations[-1]['mean_return']:.0f}")

            def _on_step(self) -> bool:
                if self.bar is not None:
                    self.bar.update(self.training_env.num_envs)
                if self.num_timesteps >= self.next_eval:
                    entry = record(self.num_timesteps)
                    self.next_eval = next_evaluation()
                    if self.bar is not None:
                        self.bar.set_postfix(eval=f"{entry['mean_return']:.0f}")
                return True

            def _on_training_end(self) -> None:
                if self.bar is not None:
                    self.bar.close()

        try:
            if not result.evaluations:  # the first evaluation, before any training (or its resumed retry)
                record(done)
            if timesteps > done:
                model.learn(timesteps - done, callback=Progress(), reset_num_timesteps=state is None)
        except KeyboardInterrupt:
            with hold_interrupts():
                if folder is not None:
                    _save_checkpoint(folder, model, settings, result.evaluations)
                if model_path is not None:
                    model.save(model_path)
            raise TrainingInterrupted(int(model.num_timesteps), result.evaluations, folder) from None
        if result.evaluations[-1]["steps"] < model.num_timesteps:
            record(model.num_timesteps)
        if model_path is not None:
            model.save(model_path)
    finally:
        env.close()
        eval_env.close()
    result.seconds = time.perf_counter() - started
    return result


def keep_logged(log: Path, evaluations: list[dict], run_name: str, seed: int) -> None:
    """Rewrite ``log`` so that of this run and seed it holds exactly the checkpoint's ``evaluations`` (a run killed
    between logging an evaluation and saving its checkpoint logged one that the resumed run makes again)."""
    others = [e for e in (read_evaluations(log) if log.is_file() else []) if (e.get("run"), e.get("seed")) != (run_name, seed)]
    write_text(log, "".join(json.dumps(e) + "\n" for e in others + evaluations))


def summarise(name: str, results: list[TrainResult], thresholds: list[float]) -> dict:
    """Final and best returns and steps to reach each threshold, per seed and over seeds."""
    final = [r.evaluations[-1]["mean_return"] for r in results]
    best = [max(e["mean_return"] for e in r.evaluations) for r in results]
    return {
        "run": name,
        "seeds": [r.evaluations[0]["seed"] for r in results],
        "final_mean_return": final,
        "final_mean_over_seeds": float(np.mean(final)),
        "final_std_over_seeds": float(np.std(final)),
        "best_mean_return": best,
        "steps_to_reach": {str(t): [r.steps_to_reach(t) for r in results] for t in thresholds},
        "pretrain_transitions": results[0].pretrain_transitions,
        "seconds": [round(r.seconds, 1) for r in results],
    }


def random_baseline(env_id: str, eval_episodes: int = 5, env_kwargs: dict | None = None) -> np.ndarray:
    """Returns of uniformly random actions on the evaluation episodes of :func:`train_sac`."""
    venv = make_vec_env(env_id, eval_episodes, EVAL_SEED, env_kwargs)
    try:
        return evaluate(random_policy(venv.action_space, eval_episodes), venv)
    finally:
        venv.close()


def read_evaluations(path: str | Path) -> list[dict]:
    """The evaluations of a JSONL log written by :func:`train_sac` (a truncated last line is skipped)."""
    entries = []
    for line in Path(path).read_text().splitlines():
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # the last line of a run that was killed mid-write
    return entries


def curves_by_run(evaluations: list[dict]) -> dict[str, dict[int, list[tuple[int, float]]]]:
    """``{run: {seed: [(steps, mean_return), ...]}}`` from logged evaluations."""
    curves: dict[str, dict[int, list[tuple[int, float]]]] = {}
    for e in evaluations:
        curves.setdefault(e["run"], {}).setdefault(int(e["seed"]), []).append((int(e["steps"]), float(e["mean_return"])))
    for seeds in curves.values():
        for points in seeds.values():
            points.sort()
    return curves


def plot_learning_curves(evaluations: list[dict], path: str | Path, *, title: str, random_return: float | None = None,
                         goal: float | None = None, labels: dict[str, str] | None = None) -> None:
    """Mean evaluation return over seeds per run, with the range over seeds shaded; a random policy's return and a
    goal as horizontal lines.

    :param evaluations: logged evaluations (:func:`read_evaluations`)
    :param path: the PNG to write
    :param title: the figure title
    :param random_return: mean return of a random policy on the same episodes
    :param goal: a target return to mark
    :param labels: legend text per run name
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.0, 4.2))
    ax = fig.add_subplot()
    for k, (run, seeds) in enumerate(curves_by_run(evaluations).items()):
        steps = sorted(set.intersection(*(set(s for s, _ in points) for points in seeds.values())))
        values = np.array([[dict(points)[s] for s in steps] for points in seeds.values()])
        style = "--" if run.startswith("reference") else "-"
        label = (labels or {}).get(run, run) + f" ({len(seeds)} seed{'s' if len(seeds) > 1 else ''})"
        colour = f"C{k}"
        ax.plot(steps, values.mean(axis=0), style, color=colour, marker="o", markersize=3, label=label)
        if len(seeds) > 1:
            ax.fill_between(steps, values.min(axis=0), values.max(axis=0), color=colour, alpha=0.15, linewidth=0)
    if random_return is not None:
        ax.axhline(random_return, color="tab:red", linestyle=":", label=f"random policy ({random_return:.0f})")
    if goal is not None:
        ax.axhline(goal, color="k", linestyle=":", linewidth=0.8, label=f"goal ({goal:.0f})")
    ax.set_xlabel("online env steps")
    ax.set_ylabel("evaluation return (mean over episodes)")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as partial:
        fig.savefig(partial, dpi=120)


__all__ = [
    "CHECKPOINT_SETTINGS", "EVAL_SEED", "RL_ZOO_SAC", "TASK_THRESHOLDS", "TrainResult", "TrainingInterrupted",
    "check_resume", "curves_by_run", "evaluate", "is_livn_env", "keep_logged", "make_vec_env", "plot_learning_curves",
    "random_baseline", "random_policy", "read_checkpoint", "read_evaluations", "reward_thresholds", "run_settings",
    "sac_hyperparameters", "summarise", "task_of", "train_sac",
]
