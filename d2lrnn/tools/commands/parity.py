"""``d2lrnn parity``: each backend's largest relative difference from the reference."""
import json
import sys

from ...base.backend import BACKENDS, FLOAT_DTYPES, available_backends
from .. import options
from ..parity import format_table, parity_table
from .shared import float64_where_asked

NAME = "parity"
HELP = ("print each backend's largest relative difference from the NumPy reference, per "
        "quantity")


def arguments(parser):
    parser.add_argument("--backends", nargs="+", choices=BACKENDS,
                        help="backends to compare (default: every backend installed here)")
    parser.add_argument("--dtypes", nargs="+", choices=FLOAT_DTYPES,
                        default=["float64", "float32"], help="float types to compare in")
    options.add_seed(parser, "seed of the golden inputs")
    options.add_device(parser)
    parser.add_argument("--json", action="store_true",
                        help="print the rows as JSON (backend, dtype, quantity, difference, "
                             "tolerance), not the table")


def run(args):
    backends = args.backends or available_backends()
    float64_where_asked(backends, args.dtypes)
    rows = parity_table(backends, args.dtypes, args.seed, args.device,
                        on_progress=lambda message: print(f"parity: {message}", file=sys.stderr,
                                                          flush=True))
    if args.json:
        fields = ("backend", "dtype", "quantity", "difference", "tolerance")
        print(json.dumps([dict(zip(fields, row)) for row in rows]))
    else:
        print(format_table(rows))
    failed = [(b, dt, q, d) for b, dt, q, d, tol in rows if not d <= tol]
    for backend, dtype, quantity, diff in failed:
        print(f"OUT OF BOUND: {backend} {dtype} {quantity}: {diff:.2e}", file=sys.stderr)
    return 1 if failed else 0
