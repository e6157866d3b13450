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
    parser.add_argument("--seq2seq", type=options.whole(2), nargs="?", const=3, metavar="EPOCHS",
                        help="instead, time training steps of 10.7's encoder-decoder (its "
                             "settings, 512 random sentence pairs) in each backend: EPOCHS "
                             "passes (default 3), the first not counted")
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
    if args.seq2seq:
        return run_seq2seq(args, backends)
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


def run_seq2seq(args, backends):
    print(f"d2lrnn bench --seq2seq: {', '.join(backends)}, {args.repeats} run(s) each (seeds "
          f"{args.seed} to {args.seed + args.repeats - 1}), {args.seq2seq} epochs of "
          f"{bench.SEQ2SEQ['pairs']} pairs", file=sys.stderr)
    records = bench.bench_seq2seq(backends, args.repeats, args.seq2seq, seed=args.seed,
                                  on_record=report_seq2seq)
    rows = bench.seq2seq_rows(records)
    print(f"measured on {machine.line()}")
    print(bench.markdown_table(rows, bench.SEQ2SEQ_COLUMNS))
    if args.out:
        figure = bench.bench_figure(rows, "seconds of every epoch's training steps (median)")
        files = bench.write_outputs(args.out, "bench-seq2seq", rows, bench.SEQ2SEQ_COLUMNS,
                                    records, figure, bench.SEQ2SEQ_NOTE)
        print("wrote " + ", ".join(map(str, files)))
    return 1 if any("error" in r for r in records) else 0


def report_seq2seq(record):
    if "error" in record:
        print(f"  {record['backend']}: error: {record['error']}", file=sys.stderr)
    else:
        print(f"  {record['backend']}: {sum(record['epoch_seconds']):.1f} s", file=sys.stderr)
