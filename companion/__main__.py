"""Command line: ``python -m companion {book,list,cache} ...`` (see ``--help``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import ConfigError
from .profiles import DEFAULT_PROFILE


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
    sub.add_parser("list", help="list the profiles and the chapters")
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
    return ap


def torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.cmd == "list":
            from .run import chapters, describe_profiles

            print("profiles:")
            print("\n".join("  " + line for line in describe_profiles()))
            print("chapters:")
            for ch in chapters():
                print(f"  {ch.number.lstrip('0'):>2}  {ch.name}")
            return 0
        if args.cmd == "bench":
            from . import bench
            from .config import check

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
        from .run import build_book

        try:
            build_book(args.profile, args.chapters, args.out,
                       progress=not args.no_progress and sys.stderr.isatty(),
                       log=lambda m: print(m, file=sys.stderr, flush=True))
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


if __name__ == "__main__":
    sys.exit(main())
