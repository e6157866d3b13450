"""``d2lrnn bench``: training and generation timed for every backend and model kind."""
import sys

from ...training.settings import FIELDS
from .. import bench, machine, options
from .shared import report_run

NAME = "bench"
HELP = "time training and generation for every backend and model kind installed here"


def arguments(parser):
    options.add_selection(parser)
    parser.add_argument("--paths", nargs="+", choices=("fast", "plain"), default=["fast"],
                        help="the fast path, the plain (book) path, or both")
    parser.add_argument("--repeats", type=options.whole(1), default=3,
                        help="runs of each, with seeds --seed, --seed + 1, ...; the table "
                             "shows their medians")
    parser.add_argument("--busy", type=options.whole(0), default=0, metavar="N",
                        help="run everything again beside N processes that each keep a core "
                             "busy, and show each row's time under that load against idle")
    add_run_flags(parser)
    parser.add_argument("--out", type=options.path,
                        help="folder for bench.md, bench.csv, bench.json, bench.png "
                             "(default: print the table only)")


def add_run_flags(parser):
    """The flags bench and compare pass on to every run they start."""
    options.add_device(parser)
    options.add_settings(parser, [name for name, field in FIELDS.items()
                                  if field.metadata["shared"]])
    options.add_max_corpus(parser)


def run_flags(args):
    """Those flags, as ``d2lrnn train`` takes them."""
    words = ["--device", args.device, *options.shared_settings(args)]
    if args.corpus:
        words += ["--max-corpus-mb", str(args.max_corpus_mb)]
    return words


def run(args):
    backends = bench.check_backends(args.backends)
    print(f"d2lrnn bench: {', '.join(backends)} x {', '.join(args.models)} x "
          f"{', '.join(args.paths)}, {args.repeats} run(s) each (seeds {args.seed} to "
          f"{args.seed + args.repeats - 1}), {args.epochs} epochs", file=sys.stderr)
    records = bench.bench(backends, args.models, args.paths, args.repeats, run_flags(args),
                          seed=args.seed, on_record=report_run, busy=args.busy)
    rows = bench.bench_rows(records)
    columns = (*bench.BENCH_COLUMNS, *(bench.BUSY_COLUMNS if args.busy else ()))
    print(f"measured on {machine.line()}" + (f"; busy: beside {args.busy} spinning "
                                             f"process(es)" if args.busy else ""))
    print(bench.markdown_table(rows, columns))
    if args.out:
        files = bench.write_outputs(args.out, "bench", rows, columns, records,
                                    bench.bench_figure(rows))
        print("wrote " + ", ".join(map(str, files)))
    return 1 if any("error" in r for r in records) else 0
