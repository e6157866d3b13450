"""``d2lrnn compare``: the same weights on the same batches in every backend."""
from .. import bench, options
from .bench import add_run_flags, run_flags
from .shared import report_run

NAME = "compare"
HELP = ("train the same initial weights on the same batches in every backend; compare the "
        "curves")


def arguments(parser):
    options.add_selection(parser)
    parser.add_argument("--plain", dest="fast", action="store_false",
                        help="train on the plain (book) path instead of the fast one")
    parser.add_argument("--merge", nargs="+", metavar="JSON", type=options.path("--merge"),
                        help="add runs from compare.json files written in other "
                             "environments (e.g. the mxnet one)")
    parser.add_argument("--merge-only", action="store_true",
                        help="run nothing here: only merge the --merge files")
    add_run_flags(parser)
    parser.add_argument("--out", type=options.path("--out"),
                        help="folder for compare.md, .csv, .json and .png "
                             "(default: print the table only)")


def run(args):
    backends = [] if args.merge_only else bench.check_backends(args.backends)
    records = bench.compare(backends, args.models, args.fast, run_flags(args),
                            merge=args.merge or (), on_record=report_run)
    rows = bench.compare_rows(records)
    print(bench.markdown_table(rows, bench.COMPARE_COLUMNS))
    if args.out:
        files = bench.write_outputs(args.out, "compare", rows, bench.COMPARE_COLUMNS,
                                    records, bench.compare_figure(records))
        print("wrote " + ", ".join(map(str, files)))
    return 1 if any("error" in r for r in records) else 0
