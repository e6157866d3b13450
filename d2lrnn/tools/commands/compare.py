"""``d2lrnn compare``: the same weights on the same batches in every backend."""
import sys
import time

from .. import bench, options
from .bench import add_run_flags, run_flags
from .shared import duration, report_run

NAME = "compare"
HELP = ("train the same initial weights on the same batches in every backend; compare the "
        "curves")


def arguments(parser):
    options.add_selection(parser)
    parser.add_argument("--plain", dest="fast", action="store_false",
                        help="train on the plain (book) path instead of the fast one")
    parser.add_argument("--merge", nargs="+", metavar="JSON", type=options.path,
                        help="add runs from compare.json files written in other "
                             "environments (e.g. the mxnet one)")
    parser.add_argument("--merge-only", action="store_true",
                        help="run nothing here: only merge the --merge files")
    add_run_flags(parser)
    parser.add_argument("--out", type=options.path,
                        help="folder for compare.md, .csv, .json and .png "
                             "(default: print the table only)")


def run(args):
    backends = [] if args.merge_only else bench.check_backends(args.backends)
    runs = [(b, m) for b in backends for m in args.models if m in bench.model_kinds(b)]
    if runs:
        print(f"d2lrnn compare: {len(runs)} run(s) of {args.epochs} epochs, one after another, "
              f"each in a new process ({', '.join(f'{b} {m}' for b, m in runs)}); the time "
              f"left is estimated as they end", file=sys.stderr)
    records = bench.compare(backends, args.models, args.fast, run_flags(args),
                            merge=args.merge or (), on_record=Estimate(len(runs)).report)
    rows = bench.compare_rows(records)
    note = bench.compare_note(rows)
    print(bench.markdown_table(rows, bench.COMPARE_COLUMNS) + (f"\n\n{note}" if note else ""))
    if args.out:
        files = bench.write_outputs(args.out, "compare", rows, bench.COMPARE_COLUMNS,
                                    records, bench.compare_figure(records), note=note)
        print("wrote " + ", ".join(map(str, files)))
    return 1 if any("error" in r for r in records) else 0


class Estimate:
    """Each run's line as it ends, with the time the runs left will take at the mean pace of
    those done."""

    def __init__(self, total):
        self.total, self.done, self.start = total, 0, time.monotonic()

    def report(self, record):
        report_run(record)
        self.done += 1
        left = self.total - self.done
        if left:
            pace = (time.monotonic() - self.start) / self.done
            print(f"  about {duration(left * pace)} left ({left} run(s))", file=sys.stderr)
