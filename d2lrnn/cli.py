"""The ``d2lrnn`` command (also ``python -m d2lrnn``)."""
import argparse
import sys

from .backend import BACKENDS, FLOAT_DTYPES, available_backends, load_backend


def _enable_jax_x64(backends, dtypes):
    # JAX makes float64 arrays only in 64-bit mode, which must be on before any array.
    if "jax" in backends and "float64" in dtypes:
        import jax

        jax.config.update("jax_enable_x64", True)


def cmd_demo(args):
    from .demo import section_tour

    _enable_jax_x64([args.backend], [args.dtype])
    print("\n".join(section_tour(load_backend(args.backend), args.dtype, args.seed)))
    return 0


def cmd_parity(args):
    from .parity import format_table, parity_table

    backends = args.backends or available_backends()
    _enable_jax_x64(backends, args.dtypes)
    rows = parity_table(backends, args.dtypes, args.seed)
    print(format_table(rows))
    failed = [(b, dt, q, d) for b, dt, q, d, tol in rows if not d <= tol]
    for backend, dtype, quantity, diff in failed:
        print(f"OUT OF BOUND: {backend} {dtype} {quantity}: {diff:.2e}", file=sys.stderr)
    return 1 if failed else 0


def build_parser():
    parser = argparse.ArgumentParser(
        prog="d2lrnn", description="The RNN section of Dive into Deep Learning, in five "
                                   "frameworks that compute the same numbers.")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run every computation of the section once")
    demo.add_argument("--backend", choices=BACKENDS, default="numpy")
    demo.add_argument("--dtype", choices=FLOAT_DTYPES, default="float32")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(run=cmd_demo)

    parity = sub.add_parser("parity", help="print each backend's largest relative difference "
                                           "from the NumPy reference, per quantity")
    parity.add_argument("--backends", nargs="+", choices=BACKENDS,
                        help="default: every backend installed here")
    parity.add_argument("--dtypes", nargs="+", choices=FLOAT_DTYPES, default=["float64", "float32"])
    parity.add_argument("--seed", type=int, default=0)
    parity.set_defaults(run=cmd_parity)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ImportError as err:  # a backend whose framework is missing: say how to get it
        print(f"d2lrnn: {err}", file=sys.stderr)
        return 2
