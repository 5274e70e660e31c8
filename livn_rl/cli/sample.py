"""``livn-rl sample``: record stimulus-response trials of a system into a dataset folder (resumable)."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from livn_rl.cli.common import Interrupted, UsageError, add_command, resolve_config, usage_errors

__all__ = ["add_parser", "cmd_sample"]

SAMPLE_DESCRIPTION = """\
Record stimulus-response trials of a system into a Hugging Face dataset folder (Parquet shards, meta.json and a
dataset card) in livn's published layout: livn's own reading code (sample["trial_it"][0], sample["trial_t"][0],
int(sample["features"][1]), sample["t_end"]) works on it unchanged. Each sample is one window: random features are
encoded into stimulation (by default livn's pulse features: channel, onset in ms, amplitude in uA), the culture is
simulated, and every neuron's spikes and every electrode's detections are recorded (--record-voltage: every
neuron's membrane voltage too).

Sampling is resumable: stop it (Ctrl-C) and run the same command again, and it makes only the shards that are
missing; no trial is lost or made twice and no finished shard is rewritten. Episodes run as copies of one network
(--copies) in one or more processes (--workers).

To pretrain an agent for a task env, sample with that env's encoder and window: the default Pendulum-S2 env uses
the population encoder and 50 ms windows.
"""

SAMPLE_EPILOG = """\
examples:
  livn-rl sample S2 --samples 10000 --out data/S2
  livn-rl sample S2 --samples 10000 --encoder population --out data/S2-population
                     trials for livn_rl/Pendulum-S2-v0's replay buffer
  livn-rl sample S2 --samples 2000 --encoder '{"name": "pulse", "n_pulses": 2}' --no-noise --out data/S2-2p
  livn-rl sample S2 --samples 500 --window-ms 5000 --trials-per-episode 1 --encoder '{"name": "pulse", "n_pulses": 10}' \\
                    --split train_with_noise --out data/S2-livn
                     livn's long samples: 5 s, ten pulses each
  livn-rl sample S2 --samples 100 --split test --seed 1 --out data/S2-test
                     a test split (one split per folder)
"""


def add_parser(commands) -> None:
    """Add ``sample`` to the ``livn-rl`` sub-parsers."""
    sample = add_command(commands, "sample", help="record stimulus-response trials into a dataset folder (resumable)",
                         description=SAMPLE_DESCRIPTION, epilog=SAMPLE_EPILOG, handler=cmd_sample)
    sample.add_argument("system", metavar="SYSTEM", help="a predefined system (S1..S4) or a YAML/JSON culture config")
    sample.add_argument("--samples", "-n", type=int, default=10_000, help="number of trials (default: %(default)s)")
    sample.add_argument("--out", "-o", required=True, metavar="DIR", help="dataset folder (created, or resumed)")
    sample.add_argument("--encoder", default="pulse", metavar="SPEC",
                        help="features -> stimulation: a built-in encoder (pulse, rate, population, timing) or a JSON "
                             "object {\"name\": ..., parameters} (default: pulse)")
    sample.add_argument("--window-ms", type=float, default=50.0, help="trial length in ms (default: %(default)s)")
    sample.add_argument("--trials-per-episode", type=int, default=200,
                        help="consecutive trials on one culture before it is reset (default: %(default)s)")
    sample.add_argument("--no-noise", dest="noise", action="store_false", help="switch off the background noise")
    sample.add_argument("--seed", type=int, default=0, help="seed of cultures, features and noise (default: 0)")
    sample.add_argument("--split", default="train",
                        help="split name, as livn's: train, test, train_with_noise, ... (default: %(default)s)")
    sample.add_argument("--record-voltage", action="store_true",
                        help="also record every neuron's membrane voltage (trial_iv, trial_vv; large)")
    sample.add_argument("--copies", type=int, default=8,
                        help="episodes simulated side by side in one network, one shard (default: %(default)s)")
    sample.add_argument("--workers", type=int, default=1, help="processes making shards (default: %(default)s)")
    sample.add_argument("--target", choices=("auto", "cython", "numpy"), default="auto",
                        help="Brian2 code generation target (default: auto)")
    sample.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _encoder_spec(text: str):
    if text.lstrip().startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as err:
            raise UsageError(f"--encoder {text!r} is not valid JSON: {err}") from None
    return text


def _sample_command(args: argparse.Namespace) -> str:
    """The full ``livn-rl sample`` command that makes this dataset, for its card (every setting spelled out)."""
    words = ["livn-rl", "sample", args.system, "--samples", str(args.samples), "--out", args.out, "--encoder",
             args.encoder, "--window-ms", f"{args.window_ms:g}", "--trials-per-episode", str(args.trials_per_episode),
             "--seed", str(args.seed), "--copies", str(args.copies), "--split", args.split]
    flags = ([] if args.noise else ["--no-noise"]) + (["--record-voltage"] if args.record_voltage else [])
    return shlex.join(words + flags)


def cmd_sample(args: argparse.Namespace) -> int:
    """``livn-rl sample SYSTEM --samples N --out DIR ...``."""
    from livn_rl.checks import check_whole
    from livn_rl.data import plan_sampling, run_sampling
    from livn_rl.data.store import completed_shards, shard_sizes

    config = resolve_config(args.system)
    system = args.system if Path(args.system).suffix == "" else config
    with usage_errors():
        check_whole("--workers", args.workers, 1)
        plan = plan_sampling(
            system, args.out, samples=args.samples, encoder=_encoder_spec(args.encoder), window_ms=args.window_ms,
            trials_per_episode=args.trials_per_episode, noise=args.noise, seed=args.seed, n_copies=args.copies,
            split=args.split, record_voltage=args.record_voltage, command=_sample_command(args),
        )
    try:
        report = run_sampling(plan, workers=args.workers, target=args.target, progress=not args.quiet)
    except KeyboardInterrupt:
        done = completed_shards(plan.folder, plan.meta)
        kept = sum(n for n, finished in zip(shard_sizes(plan.meta), done) if finished)
        raise Interrupted(
            f"kept {kept:,} of {plan.meta['samples']:,} trials ({sum(done)} of {len(done)} shards, every one complete) "
            f"in {plan.folder}; run the same command again to make the rest"
        ) from None
    print(f"{report.folder}: {report.samples} trials ({report.new_trials} new in {report.shards_made} shard(s), "
          f"{report.shards_kept} shard(s) already done) in {report.seconds:.1f} s, "
          f"{report.trials_per_second:.1f} trials/s")
    return 0
