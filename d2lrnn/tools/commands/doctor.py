"""``d2lrnn doctor``: what each backend can do here, checked."""
import argparse
import json
import sys

from ...base.backend import BACKENDS
from .. import doctor

NAME = "doctor"
HELP = ("check every backend: installed or not, its version, its devices, float64, and a "
        "short parity check on each device (exit code 1 when something installed is broken)")


def arguments(parser):
    parser.add_argument("--backends", nargs="+", choices=BACKENDS,
                        help="backends to check (default: every one, installed or not)")
    parser.add_argument("--backend", choices=BACKENDS, help=argparse.SUPPRESS)  # one, here
    parser.add_argument("--json", action="store_true", help="print the findings as JSON")


def run(args):
    if args.backend:  # one backend, checked in this process (doctor runs each this way)
        result = doctor.check_backend(args.backend)
        print(json.dumps(result) if args.json else doctor.report([result]))
        return 0 if result["ok"] else 1
    results, code = doctor.doctor(args.backends or BACKENDS, on_progress=lambda message: print(
        f"doctor: {message}", file=sys.stderr, flush=True))
    print(json.dumps(results) if args.json else doctor.report(results))
    return code
