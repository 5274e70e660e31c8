"""``livn-rl export nwb``: a saved recording, an episode or a dataset as NWB (Neurodata Without Borders) files."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from livn_rl.cli.common import Interrupted, UsageError, add_command, fill

__all__ = ["add_parser", "cmd_export_nwb"]

EXPORT_DESCRIPTION = """\
Export livn_rl data to the formats other tools read. One format so far: nwb.
"""

NWB_DESCRIPTION = """\
Write SOURCE as an NWB file, the format in which neuroscientists keep electrophysiology (DANDI archives it;
pynwb, SpikeInterface, Neo and most analysis tools read it). The file holds the culture as the subject (system,
config hash, seed, package versions; marked as simulated), the MEA as the electrodes table, every neuron's spikes as
the units table (cell type, population, position), what each electrode detected (processing/ecephys), the
stimulation pulses (intervals/stimulation) and, for episodes and datasets, the steps or trials and the task's
actions, observations and rewards. docs/nwb.md says what goes where.

SOURCE is a saved recording (.npz of 'livn-rl simulate --save'), an episode file (.npz of
livn_rl.export.RecordEpisode), a summary of 'livn-rl simulate --json ... --save ...' (.json), or a dataset folder
of 'livn-rl sample' (every trial in one file, one shard with --shard, or one file per shard with --per-shard).
The file is written under a temporary name and renamed when complete; an existing file is replaced only with
--overwrite. Needs the extra: pip install 'livn_rl[nwb]'.
"""

NWB_EPILOG = """\
examples:
  livn-rl simulate S2 -d 1000 -s 5:10uA@500msx10/20Hz --save out/s2.npz
  livn-rl export nwb out/s2.npz --out out/s2.nwb
                          a saved run (or its --json summary)
  livn-rl export nwb episodes/episode-00000.npz --out out/ep.nwb --inspect
                          an episode of RecordEpisode, checked by nwbinspector
  livn-rl export nwb data/S2 --out out/S2.nwb
                          every trial of a dataset in one file
  livn-rl export nwb data/S2 --shard 0 --out out/S2-0.nwb
                          one shard
  livn-rl export nwb data/S2 --per-shard --out out/S2-nwb
                          one file per shard, in the folder out/S2-nwb
  livn-rl export nwb data/custom --system my_culture.yaml --out custom.nwb
                          a dataset sampled from a config file

reading a file back (docs/nwb.md):
  from livn_rl.export import from_nwb; recording = from_nwb("out/s2.nwb")
  or with pynwb alone: python examples/nwb_raster.py out/s2.nwb
"""


def add_parser(commands) -> None:
    """Add ``export`` (with its format ``nwb``) to the ``livn-rl`` sub-parsers."""
    export = add_command(commands, "export", help="export recordings, episodes and datasets (NWB)",
                         description=EXPORT_DESCRIPTION, epilog="run 'livn-rl export nwb --help' for the options\n",
                         handler=_choose_format)
    formats = export.add_subparsers(dest="format", metavar="FORMAT", title="formats")
    nwb = formats.add_parser("nwb", help="Neurodata Without Borders (.nwb)", description=fill(NWB_DESCRIPTION),
                             epilog=NWB_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    nwb.set_defaults(handler=cmd_export_nwb)
    nwb.add_argument("source", metavar="SOURCE", help="a saved recording or episode (.npz), a simulate summary "
                                                      "(.json) or a dataset folder")
    nwb.add_argument("--out", "-o", required=True, metavar="PATH",
                     help="the .nwb file to write (a folder with --per-shard)")
    nwb.add_argument("--overwrite", action="store_true", help="replace existing output files")
    shards = nwb.add_mutually_exclusive_group()
    shards.add_argument("--shard", type=int, metavar="K", help="of a dataset, export shard K only")
    shards.add_argument("--per-shard", action="store_true",
                        help="of a dataset, write one file per shard into the folder --out (shard-00000.nwb, ...)")
    nwb.add_argument("--system", metavar="SYSTEM", help="the dataset's system (a name or config file), when its "
                                                       "metadata cannot rebuild it (sampled from a config file)")
    nwb.add_argument("--experimenter", metavar="'LAST, FIRST'", help="who made the data (NWB general metadata)")
    nwb.add_argument("--institution", metavar="NAME", help="where the data was made")
    nwb.add_argument("--lab", metavar="NAME", help="which lab made the data")
    nwb.add_argument("--inspect", action="store_true",
                     help="check each written file with nwbinspector and print what it reports")
    nwb.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _choose_format(args: argparse.Namespace) -> int:
    raise UsageError("choose a format: livn-rl export nwb SOURCE --out FILE (see 'livn-rl export nwb --help')")


def cmd_export_nwb(args: argparse.Namespace) -> int:
    """``livn-rl export nwb SOURCE --out PATH``: check the arguments, export, report (and inspect)."""
    from livn_rl.export import ExportError, finished_shards, to_nwb

    try:
        from livn_rl.export.nwb_file import require_pynwb

        require_pynwb()
    except ImportError as err:
        print(f"livn-rl export nwb: error: {err}", file=sys.stderr)
        return 1
    source = Path(args.source)
    if (args.shard is not None or args.per_shard or args.system) and not source.is_dir():
        raise UsageError(f"--shard, --per-shard and --system apply to dataset folders; {args.source!r} is not a folder")
    options = {"overwrite": args.overwrite, "system": args.system, "progress": not args.quiet,
               "experimenter": args.experimenter, "institution": args.institution, "lab": args.lab}
    started = time.perf_counter()
    written: list[Path] = []
    try:
        if args.per_shard:
            folder = Path(args.out)
            if folder.suffix == ".nwb" or (folder.exists() and not folder.is_dir()):
                raise UsageError(f"--out {args.out!r}: with --per-shard, give a folder for the files")
            finished = finished_shards(source)
            missing = [k for k, done in enumerate(finished) if not done]
            if missing:
                raise UsageError(f"{args.source} is incomplete: shard(s) {missing[:5]}{'...' if len(missing) > 5 else ''} "
                                 f"missing; finish the sampling first (run its `livn-rl sample` command again)")
            count = len(finished)
            targets = [folder / f"shard-{k:05d}.nwb" for k in range(count)]
            existing = [str(t) for t in targets if t.exists()]
            if existing and not args.overwrite:
                raise UsageError(f"{len(existing)} of the files exist already ({existing[0]}, ...); pass --overwrite")
            for k, target in enumerate(targets):
                written.append(to_nwb(source, target, shard=k, **{**options, "progress": False}))
                if not args.quiet:
                    print(f"shard {k + 1}/{count}: {target}", file=sys.stderr, flush=True)
        else:
            written.append(to_nwb(source, args.out, shard=args.shard, **options))
    except ExportError as err:
        raise UsageError(err) from None
    except KeyboardInterrupt:
        kept = f"kept the {len(written)} file(s) already written ({written[-1]}, ...)" if written else "wrote no file"
        raise Interrupted(f"{kept}; the file being written was removed; run the same command with --overwrite to "
                          f"export again") from None
    seconds = time.perf_counter() - started
    for path in written:
        print(f"nwb: {path} ({path.stat().st_size / 1e6:.2f} MB)")
    print(f"exported {len(written)} file(s) in {seconds:.1f} s")
    if args.inspect:
        return _inspect(written)
    return 0


def _inspect(paths: list[Path]) -> int:
    """Print nwbinspector's report on each file; 1 if any reports a critical or best-practice violation."""
    from livn_rl.export import SUPPRESSED_CHECKS, inspect_nwb

    worst = 0
    for path in paths:
        messages = inspect_nwb(path)
        print(f"nwbinspector on {path}: {len(messages) or 'no'} message(s) "
              f"(not run: {', '.join(SUPPRESSED_CHECKS)}, see docs/nwb.md)")
        for message in messages:
            print(f"  {message.importance.name}: {message.check_function_name} at {message.location}: {message.message}")
            worst = max(worst, message.importance.value)
    return 1 if worst >= 1 else 0
