"""The ``d2lrnn`` command (also ``python -m d2lrnn``)."""
import argparse
import json
import sys
import warnings
from pathlib import Path

from .backend import BACKENDS, FLOAT_DTYPES, available_backends, load_backend
from .experiment import BOOK, MODELS, enable_jax_x64


def _enable_jax_x64(backends, dtypes):
    if "jax" in backends and "float64" in dtypes:
        enable_jax_x64()


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


def cmd_train(args):
    from tqdm.auto import tqdm

    from . import checkpoint
    from .experiment import train_run

    bar = tqdm(total=args.epochs, unit="epoch", file=sys.stderr, disable=args.quiet,
               desc=f"{args.backend} {args.model}")

    def on_step(step, loss):
        bar.set_postfix(step=step, ppl=f"{2.718281828459045 ** loss:.2f}", refresh=False)

    def on_epoch(record):
        bar.set_postfix(train_ppl=f"{record['train_ppl']:.2f}",
                        val_ppl=f"{record['val_ppl']:.2f}")
        bar.update(1)

    summary, lm, data, history, hparams = train_run(
        args.backend, args.model, args.epochs, args.batch_size, args.num_steps, args.hiddens,
        args.lr, args.clip, args.seed, args.corpus, args.dtype, args.whole_book,
        on_step=on_step, on_epoch=on_epoch, fast=args.fast)
    bar.close()
    if args.record:
        write_record(args.record, summary, lm, data, history, hparams)
    if args.out:
        from .plot import perplexity_figure, save_figure

        out = Path(args.out)
        checkpoint.save(out / f"checkpoint{checkpoint.EXTENSION}", lm.get_params(),
                        data.vocab, hparams)
        save_figure(perplexity_figure(history, f"{args.backend} {args.model}"),
                    out / "perplexity.png")
    print(f"train perplexity {summary['train_ppl']:.2f}, validation perplexity "
          f"{summary['val_ppl']:.2f}, {summary['seconds']:.1f} s, "
          f"{summary['tokens_per_s']:,.0f} tokens/s")
    for prefix, text in summary["samples"].items():
        print(f"{prefix!r} -> {text!r}")
    if args.out:
        print(f"wrote {Path(args.out) / ('checkpoint' + checkpoint.EXTENSION)} and "
              f"{Path(args.out) / 'perplexity.png'}")
    if args.json:
        print(json.dumps(summary))
    return 0


def write_record(path, summary, lm, data, history, hparams):
    """The run's JSON record, as bench and compare read it (see d2lrnn.bench)."""
    import resource

    from ._files import atomic_write
    from .experiment import generation_speed

    # ru_maxrss: the process's peak resident memory, in KiB on Linux (bytes on macOS)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = peak / 2**20 if sys.platform == "darwin" else peak / 2**10
    record = {**summary, "peak_mb": peak_mb,
              "generate_chars_per_s": generation_speed(lm, data.vocab),
              "settings": {**hparams, "corpus_sha1": data.sha1},
              "history": history}
    atomic_write(path, json.dumps(record).encode())


def cmd_bench(args):
    from . import bench

    backends = bench.check_backends(args.backends)
    train_args = _train_args(args)
    print(f"d2lrnn bench: {', '.join(backends)} x {', '.join(args.models)} x "
          f"{', '.join(args.paths)}, {args.repeats} run(s) each (seeds {args.seed} to "
          f"{args.seed + args.repeats - 1}), {args.epochs} epochs", file=sys.stderr)
    records = bench.bench(backends, args.models, args.paths, args.repeats, train_args,
                          seed=args.seed, on_record=_report)
    rows = bench.bench_rows(records)
    print(bench.markdown_table(rows, bench.BENCH_COLUMNS))
    if args.out:
        files = bench.write_outputs(args.out, "bench", rows, bench.BENCH_COLUMNS, records,
                                    bench.bench_figure(rows))
        print("wrote " + ", ".join(map(str, files)))
    return 1 if any("error" in r for r in records) else 0


def cmd_compare(args):
    from . import bench

    backends = [] if args.merge_only else bench.check_backends(args.backends)
    records = bench.compare(backends, args.models, args.fast, _train_args(args),
                            merge=args.merge or (), on_record=_report)
    rows = bench.compare_rows(records)
    print(bench.markdown_table(rows, bench.COMPARE_COLUMNS))
    if args.out:
        files = bench.write_outputs(args.out, "compare", rows, bench.COMPARE_COLUMNS,
                                    records, bench.compare_figure(records))
        print("wrote " + ", ".join(map(str, files)))
    return 1 if any("error" in r for r in records) else 0


def _report(record):
    what = f"{record['backend']} {record['model']}{' fast' if record.get('fast') else ''}"
    if "error" in record:
        print(f"  {what}: FAILED: {record['error']}", file=sys.stderr)
    else:
        print(f"  {what}: {record['wall_seconds']:.1f} s, val ppl {record['val_ppl']:.2f}",
              file=sys.stderr)


def _train_args(args):
    """The training flags a bench or compare passes on to each `d2lrnn train` run."""
    flags = ["--epochs", args.epochs, "--batch-size", args.batch_size, "--num-steps",
             args.num_steps, "--hiddens", args.hiddens, "--lr", args.lr, "--clip", args.clip,
             "--seed", args.seed, "--dtype", args.dtype]
    if args.corpus:
        flags += ["--corpus", args.corpus]
    return [str(f) for f in flags]


def cmd_generate(args):
    from . import checkpoint
    from .experiment import build_lm

    params, vocab, hparams = checkpoint.load(args.checkpoint)
    dtype = args.dtype or hparams.get("dtype", "float32")
    _enable_jax_x64([args.backend], [dtype])
    d2l = load_backend(args.backend)
    model = hparams.get("model", "scratch")
    if model == "concise" and not d2l.ops.has_rnn_layer:
        model = "scratch"  # the same weights and the same maths
        print(f"note: {args.backend} has no recurrent layer; running the scratch RNN",
              file=sys.stderr)
    lm = build_lm(d2l, model, len(vocab), params["W_hh"].shape[0], dtype)
    lm.set_params(params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        text = lm.predict(args.prefix, args.num_preds, vocab, temperature=args.temperature,
                          seed=args.seed)
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    print(text)
    return 0


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
    parity.add_argument("--dtypes", nargs="+", choices=FLOAT_DTYPES,
                        default=["float64", "float32"])
    parity.add_argument("--seed", type=int, default=0)
    parity.set_defaults(run=cmd_parity)

    train = sub.add_parser("train", help="train the character-level language model on "
                                         "The Time Machine")
    train.add_argument("--backend", choices=BACKENDS, default="numpy")
    train.add_argument("--model", choices=MODELS, default="scratch")
    _add_training_flags(train)
    train.add_argument("--fast", action="store_true",
                       help="the fast path: the same numbers, computed sooner")
    train.add_argument("--record", help=argparse.SUPPRESS)  # JSON for bench and compare
    train.add_argument("--whole-book", action="store_true",
                       help="train on every window of the corpus, not the first 10,000")
    train.add_argument("--out", help="folder for checkpoint.safetensors and perplexity.png")
    train.add_argument("--json", action="store_true",
                       help="print the final figures as one JSON object on the last line")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=cmd_train)

    generate = sub.add_parser("generate", help="continue a prefix with a trained checkpoint")
    generate.add_argument("--checkpoint", required=True)
    generate.add_argument("--backend", choices=BACKENDS, default="numpy")
    generate.add_argument("--prefix", required=True)
    generate.add_argument("--num-preds", type=_positive, default=50)
    generate.add_argument("--temperature", type=float, default=0.0,
                          help="0: greedy (the book); > 0: sample from softmax(O / T)")
    generate.add_argument("--seed", type=int, default=None)
    generate.add_argument("--dtype", choices=FLOAT_DTYPES,
                          help="default: the checkpoint's")
    generate.set_defaults(run=cmd_generate)

    bench = sub.add_parser("bench", help="time training and generation for every backend "
                                         "and model kind installed here")
    _add_selection_flags(bench)
    bench.add_argument("--paths", nargs="+", choices=("fast", "plain"), default=["fast"],
                       help="the fast path, the plain (book) path, or both")
    bench.add_argument("--repeats", type=_positive, default=3,
                       help="runs of each, with seeds --seed, --seed + 1, ...; the table "
                            "shows their medians")
    _add_training_flags(bench)
    bench.add_argument("--out", help="folder for bench.md, bench.csv, bench.json, bench.png")
    bench.set_defaults(run=cmd_bench)

    compare = sub.add_parser("compare", help="train the same initial weights on the same "
                                             "batches in every backend; compare the curves")
    _add_selection_flags(compare)
    compare.add_argument("--plain", dest="fast", action="store_false",
                         help="train on the plain (book) path instead of the fast one")
    compare.add_argument("--merge", nargs="+", metavar="JSON",
                         help="add runs from compare.json files written in other "
                              "environments (e.g. the mxnet one)")
    compare.add_argument("--merge-only", action="store_true",
                         help="run nothing here: only merge the --merge files")
    _add_training_flags(compare)
    compare.add_argument("--out", help="folder for compare.md, .csv, .json and .png")
    compare.set_defaults(run=cmd_compare)
    return parser


def _add_selection_flags(parser):
    parser.add_argument("--backends", nargs="+", choices=BACKENDS,
                        help="default: every backend installed here")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))


def _add_training_flags(parser):
    parser.add_argument("--epochs", type=_positive, default=BOOK["epochs"])
    parser.add_argument("--batch-size", type=_positive, default=BOOK["batch_size"])
    parser.add_argument("--num-steps", type=_positive, default=BOOK["num_steps"])
    parser.add_argument("--hiddens", type=_positive, default=BOOK["num_hiddens"])
    parser.add_argument("--lr", type=float, default=BOOK["lr"])
    parser.add_argument("--clip", type=float, default=BOOK["clip"],
                        help="gradient clipping threshold θ on the global norm (0: off)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", choices=FLOAT_DTYPES, default="float32")
    parser.add_argument("--corpus", help="a local text file to train on instead of the "
                                         "downloaded book")


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text}")
    return value


def main(argv=None):
    from .checkpoint import CheckpointError
    from .data import CorpusError

    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ImportError, CorpusError, CheckpointError, ValueError, TypeError, KeyError) as err:
        # what the user can fix: a missing framework, the corpus, a checkpoint, an argument
        print(f"d2lrnn: {err}", file=sys.stderr)
        return 2
