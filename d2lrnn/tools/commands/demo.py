"""``d2lrnn demo``: every computation of the section once."""
from ...base.backend import FLOAT_DTYPES, load_backend
from ...chapters.demo import section_tour
from .. import options
from .shared import float64_where_asked

NAME = "demo"
HELP = "run every computation of the section once"


def arguments(parser):
    options.add_backend(parser)
    parser.add_argument("--dtype", choices=FLOAT_DTYPES, default="float32",
                        help="float type of the weights")
    options.add_seed(parser, "seed of the random weights")


def run(args):
    float64_where_asked([args.backend], [args.dtype])
    print("\n".join(section_tour(load_backend(args.backend), args.dtype, args.seed)))
    return 0
