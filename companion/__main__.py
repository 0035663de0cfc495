"""Command line: ``python -m companion {book,compute,list,bench,cache,train-ntp,train-rl} ...``
(see ``--help``)."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from .config import ConfigError, check
from .profiles import DEFAULT_PROFILE, PROFILES

TRAIN = {"train-ntp": "train (or read from the cache) one next-token-prediction run",
         "train-rl": "RL from an NTP run (trained first if not cached)"}


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m companion", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("book", help="execute the chapters under a profile and build the HTML book")
    b.add_argument("--profile", default=DEFAULT_PROFILE,
                   help="tiny (CI, seconds), cpu (default: a laptop, minutes), paper (a GPU)")
    b.add_argument("--chapters", nargs="+", metavar="N",
                   help="only these chapters, by number (2) or name (02_ntp); default: all")
    b.add_argument("--out", type=Path, default=None, help="output folder (default: _build)")
    b.add_argument("--no-progress", action="store_true", help="no per-cell progress bar")
    b.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[],
                   help="a chapter's knob (repeatable), e.g. -p p_cot 0.2; VALUE is a Python/YAML "
                        "literal; only the chapters that declare NAME receive it (`list` shows them)")
    cp = sub.add_parser("compute", help="train into the cache the runs of a page that `book` only "
                        "reads under this profile (the multiplication page: `make multiplication`; "
                        "chapter 6's tier (b): `make pretrained`)")
    cp.add_argument("page", choices=["multiplication", "pretrained"])
    cp.add_argument("--profile", default=DEFAULT_PROFILE, help="tiny, cpu (default) or paper (a GPU)")
    sub.add_parser("list", help="list the profiles, the chapters and their knobs")
    bn = sub.add_parser("bench", help="measure throughput ratios side by side (prints a table)")
    bn.add_argument("--steps", type=int, default=60,
                    help="training steps per repeat (default 60; the cpu model runs 4x as many)")
    bn.add_argument("--repeats", type=int, default=3, help="repeats; medians are reported (default 3)")
    bn.add_argument("--csv", type=Path, default=Path("bench.csv"), help="where to write the results")
    bn.add_argument("--scale", action="store_true",
                    help="also time NTP steps at d=12..50 for the cpu and paper models and predict "
                         "the paper profile's cost on this CPU (a few more minutes)")
    c = sub.add_parser("cache", help="list or clear cached runs")
    c.add_argument("action", choices=["list", "clear"])
    for cmd, text in TRAIN.items():  # parsed by jsonargparse (_train); listed here for --help
        sub.add_parser(cmd, help=f"{text}; --help for its flags", add_help=False)
    return ap


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in TRAIN:
        try:
            return _train(argv[0], argv[1:])
        except ConfigError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2
    args = _parser().parse_args(argv)
    try:
        if args.cmd == "list":
            from . import knobs
            from .run import chapters, describe_profiles

            print("profiles:")
            print("\n".join("  " + line for line in describe_profiles()))
            print("chapters (and their knobs: papermill parameters, `book -p NAME VALUE`):")
            for ch in chapters():
                names = knobs.declared(ch.name)[1:] if ch.name in knobs.CHAPTERS else ()
                print(f"  {ch.number.lstrip('0'):>2}  {ch.name:14s} {', '.join(names)}")
            print("knobs:")
            for row in knobs.table():
                print(f"  {row['name']:17s} {row['meaning']}")
            return 0
        if args.cmd == "compute":
            import time

            from . import cache
            from .experiments import llama, multiplication
            from .profiles import get_profile

            prof, t0 = get_profile(args.profile), time.perf_counter()
            page = {"multiplication": (multiplication.runs, multiplication.compute, prof.workers),
                    "pretrained": (llama.pretrained_runs, llama.compute, llama.WORKERS)}[args.page]
            todo = page[0](prof)
            print(f"{args.page} under {prof.name}: {len(todo)} runs, {page[2]} at a time, "
                  f"into {cache.cache_root()}", file=sys.stderr, flush=True)
            n = page[1](prof, log=lambda m: print(m, file=sys.stderr, flush=True))
            print(f"{n} runs trained (with the runs they need), all {len(todo)} now in the "
                  f"cache, in {time.perf_counter() - t0:.0f} s; `make book` now shows them")
            return 0
        if args.cmd == "bench":
            from . import bench

            check(args.steps >= 1, "steps", args.steps, "must be an integer >= 1")
            check(args.repeats >= 1, "repeats", args.repeats, "must be an integer >= 1")
            df = bench.measure_all(steps=args.steps, repeats=args.repeats)
            args.csv.parent.mkdir(parents=True, exist_ok=True)
            if args.scale:
                import pandas as pd

                rows, measured, cost = bench.scale_rows()
                df = pd.concat([df, pd.DataFrame(rows)], ignore_index=True)
                stem = args.csv.with_suffix("")
                measured.to_csv(f"{stem}-steps.csv", index=False)
                cost.to_csv(f"{stem}-paper-cost.csv", index=False)
            df.to_csv(args.csv, index=False)
            print(bench.markdown(df))
            print(f"\n(written to {args.csv}; torch threads: {torch_threads()})")
            return 0
        if args.cmd == "cache":
            from . import cache

            if args.action == "list":
                rows = cache.list_runs()
                print(f"{len(rows)} cached runs in {cache.cache_root()}")
                for r in rows:
                    print(f"  {r['folder']:32s} {r['bytes'] / 1e6:8.2f} MB  (companion {r['version']})")
            else:
                print(f"removed {cache.clear()} cached runs from {cache.cache_root()}")
            return 0
        from . import knobs
        from .run import build_book, select

        params = {name: knobs.literal(value) for name, value in args.param}
        check(len(params) == len(args.param), "param", [n for n, _ in args.param],
              "must name each knob once")
        if params:  # every knob checked against the selected chapters before any of them runs
            knobs.check_book(args.profile, [c.name for c in select(args.chapters)], params)
        try:
            build_book(args.profile, args.chapters, args.out,
                       progress=not args.no_progress and sys.stderr.isatty(),
                       log=lambda m: print(m, file=sys.stderr, flush=True), params=params or None)
        except RuntimeError as e:  # ChapterFailed, or the book build itself
            print(f"error: {e}\nThe previous book (if any) was left unchanged.", file=sys.stderr)
            return 1
        return 0
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: finished runs are cached and the NTP run in progress keeps its last "
              "checkpoint;\nrerun the same command to continue from there.", file=sys.stderr)
        return 130


# --- train-ntp / train-rl: one run from the command line (jsonargparse on the config dataclasses) --

def _train_parser(cmd: str, profile: str):
    """The flags of ``cmd``: every field of the run's config dataclasses (``--task.d``,
    ``--train.steps``, ...; jsonargparse reads them from the type hints), defaults from
    ``profile``'s headline run (``train-ntp``) or headline RL run and its start (``train-rl``)."""
    from jsonargparse import ActionConfigFile, ArgumentParser

    from .config import RLConfig
    from .experiments.rl_after_ntp import start_config

    prof = PROFILES[profile]
    what = "the headline NTP run" if cmd == "train-ntp" else "the headline RL run (GRPO) and its NTP start"
    # print_config=None: ours (below) prints the config after _follow, i.e. the run that trains
    ap = ArgumentParser(prog=f"python -m companion {cmd}", print_config=None, exit_on_error=False,
                        description=f"{TRAIN[cmd]}. Defaults: {what} of --profile. As in the "
                        "profiles, the model's block_size follows --task.d and checkpoint_steps "
                        "past the end are dropped, unless given. Prints where the run is cached "
                        "and its final greedy/sampled accuracy and mean length.")
    ap.add_argument("--config", action=ActionConfigFile, help="a YAML file of these flags "
                    "(e.g. from --print_config); later flags override it")
    ap.add_argument("--print_config", action="store_true", help="print the run's config as YAML and exit")
    ap.add_argument("--profile", type=str, default=profile,
                    help=f"defaults from this profile: {', '.join(PROFILES)} (default {DEFAULT_PROFILE})")
    if cmd == "train-ntp":
        _add_run(ap, "", prof.headline)
    else:
        ap.add_class_arguments(RLConfig, "rl", default=dataclasses.asdict(prof.rl_after_ntp.rl))
        _add_run(ap, "start.", start_config(prof))
        ap.add_argument("--start_step", type=int | None, default=None,
                        help="RL from this checkpoint of the start run (default: its final step)")
    return ap


def _run_parts() -> dict:
    """The parts of an NTP run the flags set. The task is the parity mixture's: the command line
    trains parity runs (the multiplication runs are chapter 4's, from the profiles)."""
    from .config import EvalConfig, ModelConfig, PretrainConfig, TaskConfig

    return {"task": TaskConfig, "model": ModelConfig, "train": PretrainConfig, "eval": EvalConfig}


def _add_run(ap, prefix: str, default) -> None:
    for name, cls in _run_parts().items():
        ap.add_class_arguments(cls, prefix + name, default=dataclasses.asdict(getattr(default, name)))


def _run(made):
    from .config import NTPRunConfig

    return NTPRunConfig(**{name: made[name] for name in _run_parts()})


def _follow(ns, default) -> None:
    """As :func:`companion.config.with_`: block_size follows d, and checkpoints past the last step
    are dropped, unless the flags set them (``ns``: the parsed run; ``default``: the profile's)."""
    if ns.model.block_size == default.model.block_size:
        ns.model.block_size = max(default.model.block_size, 2 * ns.task.d + 2)
    if tuple(ns.train.checkpoint_steps) == default.train.checkpoint_steps:
        ns.train.checkpoint_steps = tuple(s for s in default.train.checkpoint_steps
                                          if s < ns.train.steps)


def _parse_train(cmd: str, argv: list[str]):
    """``(profile, parser, namespace)``; a profile named in a --config file gives the defaults."""
    from jsonargparse import ArgumentError

    from .experiments.rl_after_ntp import start_config

    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--profile", default=DEFAULT_PROFILE)
    profile = pre.parse_known_args(argv)[0].profile
    for _ in range(2):
        check(profile in PROFILES, "profile", profile, f"must be one of {sorted(PROFILES)}")
        ap = _train_parser(cmd, profile)
        try:
            ns = ap.parse_args(argv)
        except ArgumentError as e:  # a flag of the wrong type, an unknown flag
            raise ConfigError(str(e)) from None
        if ns.profile == profile:
            break
        profile = ns.profile  # set in the --config file: parse again on its defaults
    prof = PROFILES[profile]
    if cmd == "train-ntp":
        _follow(ns, prof.headline)
    else:
        _follow(ns.start, start_config(prof))
        if ns.start_step is None:
            ns.start_step = ns.start.train.steps
    return profile, ap, ns


def _train(cmd: str, argv: list[str]) -> int:
    if "-h" in argv or "--help" in argv:
        _train_parser(cmd, DEFAULT_PROFILE).print_help()
        return 0
    profile, ap, ns = _parse_train(cmd, argv)
    if ns.print_config:
        shown = ns.clone()
        del shown["config"], shown["print_config"]
        print(ap.dump(shown), end="")
        return 0
    from .config import RLRunConfig
    from .profiles import get_profile

    get_profile(profile)  # a GPU for paper
    made = ap.instantiate(ns) if hasattr(ap, "instantiate") else ap.instantiate_classes(ns)
    progress = sys.stderr.isatty()
    try:
        if cmd == "train-ntp":
            from .train import train_ntp

            res = train_ntp(_run(made), progress=progress)
        else:
            from .train import train_rl

            res = train_rl(RLRunConfig(rl=made.rl, start=_run(made.start), start_step=made.start_step),
                           progress=progress)
    except KeyboardInterrupt as e:  # TrainingInterrupted says what was kept
        print(f"\ninterrupted: {e or 'rerun the same command to continue'}", file=sys.stderr)
        return 130
    print(f"cached in {res.folder}")
    for decoding in ("greedy", "sampled"):
        m = res.final(decoding)
        print(f"  {decoding:8s} accuracy {m['accuracy']:.3f}  mean length {m['mean_len']:.2f}  "
              f"long fraction {m['long_frac']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
