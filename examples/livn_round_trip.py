"""livn and livn_rl data, both ways: our dataset read by livn's own code, and a dataset in livn's layout replayed by ours.

1. ``livn-rl sample`` writes S1 samples in livn's published layout; livn's reading code (``sample["trial_it"][0]``,
   ``int(sample["features"][1])``, ``sample["t_end"]``) reads them with plain ``datasets``, and, when the ``livn``
   package is installed, livn's own ``MEA.channel_recording`` observes them.
2. The same samples, cut down to livn's columns and laid out as livn's hub dataset (one config per system, livn's
   split names), are read back by ``livn_rl.data.load_dataset``, observed through our MEA offline and replayed into
   an SB3 replay buffer for ``livn_rl/Pendulum-S1-v0`` driven by the pulse encoder.

    python examples/livn_round_trip.py --out out/livn_round_trip
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import datasets
import numpy as np
import pyarrow.parquet as pq

import livn_rl
from livn_rl.data import load_dataset, replay_buffer_from_dataset, sample_dataset
from livn_rl.systems import make_system

WINDOW_MS = 200.0
ENCODER = {"name": "pulse", "n_pulses": 3, "max_amplitude_ua": 30.0}


def ours_read_by_livn(folder: Path, target: str, samples: int) -> None:
    sample_dataset("S1", folder, samples=samples, window_ms=WINDOW_MS, trials_per_episode=1, n_copies=2,
                   encoder=ENCODER, split="train_with_noise", target=target, progress=False)
    dataset = datasets.load_dataset(str(folder), split="train_with_noise")  # plain datasets, as livn's examples
    sample = dataset[0]
    it, t = np.array(sample["trial_it"][0]), np.array(sample["trial_t"][0])
    t_stim = int(sample["features"][1])
    print(f"1. livn's access pattern on our data: {it.size} spikes in the first trial, first pulse on channel "
          f"{int(sample['features'][0])} at {t_stim} ms, {sample['features'][2]:.2f} uA, t_end {sample['t_end']} ms")
    try:
        from livn.io import MEA as LivnMEA
    except ImportError:
        print("   (the livn package is not installed: pip install 'livn_rl[livn]' to observe with livn's own MEA)")
        return
    system = make_system("S1")
    mea = LivnMEA(np.column_stack([np.arange(system.mea.n_channels), system.mea.positions_um]), output_radius=120.0)
    cit, ct = mea.channel_recording(np.column_stack([np.arange(system.n_neurons), system.positions_um]), it, t)
    print(f"   livn's MEA.channel_recording: spikes per channel {[len(ct.get(c, [])) for c in range(4)]}")


def livn_layout_replayed_by_ours(ours: Path, hub_copy: Path, target: str) -> None:
    (hub_copy / "S1").mkdir(parents=True)
    table = pq.read_table([str(p) for p in sorted((ours / "data").glob("*.parquet"))])
    pq.write_table(table.select(["features", "trial_it", "trial_t", "t_end"]),  # livn's columns only
                   hub_copy / "S1" / "train_with_noise-00000-of-00001.parquet")
    (hub_copy / "README.md").write_text("---\nconfigs:\n- config_name: S1\n  data_files:\n  - split: train_with_noise\n"
                                        "    path: S1/train_with_noise-*\n---\n")
    data = load_dataset(hub_copy, "S1", split="train_with_noise")
    sample = data[0]
    system = make_system("S1")
    units, times = system.mea.channel_recording(system.positions_um, sample["trial_it"][0], sample["trial_t"][0],
                                                t_end_ms=sample["t_end"], seed=0)
    print(f"2. livn's layout read by livn_rl: {data.num_rows} samples; our MEA observes the first one as "
          f"{[len(times[c]) for c in range(4)]} detections per channel")
    buffer = replay_buffer_from_dataset(hub_copy, "livn_rl/Pendulum-S1-v0", config="S1", split="train_with_noise",
                                        env_kwargs={"encoder": ENCODER, "window_ms": WINDOW_MS, "target": target})
    print(f"   replayed into an SB3 ReplayBuffer: {buffer.size()} transitions; the first action (scaled to [-1, 1]) "
          f"{np.round(buffer.actions[0, 0].astype(float), 3).tolist()}, reward {buffer.rewards[0, 0]:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="out/livn_round_trip", help="output folder (replaced)")
    parser.add_argument("--samples", type=int, default=4, help="samples to make (default: %(default)s)")
    parser.add_argument("--target", default="auto", choices=("auto", "cython", "numpy"), help="Brian2 target")
    args = parser.parse_args()
    out = Path(args.out)
    shutil.rmtree(out, ignore_errors=True)
    print(f"livn_rl {livn_rl.__version__}")
    ours_read_by_livn(out / "ours", args.target, args.samples)
    livn_layout_replayed_by_ours(out / "ours", out / "livn-copy", args.target)


if __name__ == "__main__":
    main()
