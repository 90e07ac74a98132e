"""The `rnn-exp-report` command: compare runs as a table, a file or a plot.

The CLI edge of the report room: it parses arguments, calls report.py and tables.py, and is the
only place that turns a UserError into `rnn-exp-report: error: ...` and exit status 2. No torch,
no Hydra.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rnn_experiments.errors import ArgumentParser, UserError

PROG = "rnn-exp-report"

DESCRIPTION = """\
Merge run dirs and sweep dirs into one table (one row per run). By default print the columns
that vary across runs plus the key metrics, and a count of runs per status."""

EPILOG = """\
examples:
  rnn-exp-report outputs/
  rnn-exp-report outputs/sweeps/2026-12-03/18-14-10 -o results.parquet
  rnn-exp-report outputs/sweeps --group-by model.hidden_size
  rnn-exp-report outputs/sweeps --plot model.hidden_size norms.h_n --hue model.cell --out h.png

-o writes the whole table for .csv/.parquet and the printed view for .md; with --columns or
--group-by it writes that table. Give PATHs before options that take several values."""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="run dirs, sweep dirs, outputs/")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the table: .csv .parquet .md")
    parser.add_argument(
        "--group-by", nargs="+", metavar="COL", help="mean, std, count of metrics per group"
    )
    parser.add_argument(
        "--columns", nargs="+", metavar="COL", help="show these columns (with --group-by: metrics)"
    )
    parser.add_argument("--plot", nargs=2, metavar=("X", "Y"), help="draw Y against X")
    parser.add_argument("--hue", metavar="COL", help="with --plot: one line per value of COL")
    parser.add_argument("--out", metavar="FILE.png", help="with --plot: file (Y_vs_X.png)")
    args = parser.parse_args(argv)
    if (args.hue or args.out) and not args.plot:
        parser.error("--hue and --out go with --plot X Y")
    return args


def run(args: argparse.Namespace) -> None:
    from rnn_experiments import report, tables

    if args.output and Path(args.output).suffix.lower() not in tables.TABLE_SUFFIXES:
        raise UserError(
            f"-o {args.output!r} is not valid; the file must end in "
            f"{', '.join(tables.TABLE_SUFFIXES)}"
        )
    if args.out and Path(args.out).suffix.lower() not in tables.PLOT_SUFFIXES:
        raise UserError(
            f"--out {args.out!r} is not valid; the file must end in "
            f"{', '.join(tables.PLOT_SUFFIXES)}"
        )
    runs = report.load_runs(*args.paths)
    if args.group_by:
        table = tables.group_metrics(runs, args.group_by, args.columns)
    elif args.columns:
        tables.check_columns(runs, args.columns)
        table = runs[args.columns]
    else:
        table = None
    if args.plot:
        x, y = args.plot
        out = args.out or f"{y}_vs_{x}.png".replace("/", "_")
        path = tables.write_plot(runs, x, y, out, hue=args.hue)
        print(f"{PROG}: plot of {y} against {x} written to {path}")
    if args.output:
        suffix = Path(args.output).suffix.lower()
        if table is None:
            table = tables.default_view(runs) if suffix == ".md" else runs
        path = tables.write_table(table, args.output)
        print(f"{PROG}: wrote {len(table)} rows x {len(table.columns)} columns to {path}")
    else:
        print(tables.format_table(tables.default_view(runs) if table is None else table))
    print(tables.status_counts(runs))


def main(argv: list[str] | None = None) -> None:
    try:
        run(parse_args(argv))
    except UserError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    except BrokenPipeError:
        # `rnn-exp-report ... | head`: the reader stopped early, which is no error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    main()
