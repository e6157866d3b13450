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
        num_train=args.num_train, num_val=args.num_val, on_step=on_step, on_epoch=on_epoch,
        fast=args.fast)
    bar.close()
    if args.record:
        write_record(args.record, summary, lm, data, history, hparams)
    if args.out:
        from .plot import perplexity_figure, save_figure

        out = Path(args.out)
        checkpoint.save(out / f"checkpoint{checkpoint.EXTENSION}", lm.get_params(),
                        data.vocab, {**hparams, "train_ppl": summary["train_ppl"],
                                     "val_ppl": summary["val_ppl"]})
        save_figure(perplexity_figure(history, f"{args.backend} {args.model}"),
                    out / "perplexity.png")
    path = "fast path" if args.fast else "plain path (the book's code, step by step)"
    print(f"train perplexity {summary['train_ppl']:.2f} ({bits(summary['train_ppl']):.3f} "
          f"bits/char), validation perplexity {summary['val_ppl']:.2f} "
          f"({bits(summary['val_ppl']):.3f} bits/char); {summary['seconds']:.1f} s on the "
          f"{path}, {summary['tokens_per_s']:,.0f} tokens/s")
    for prefix, text in summary["samples"].items():
        print(f"{prefix!r} -> {text!r}")
    if args.out:
        print(f"wrote {Path(args.out) / ('checkpoint' + checkpoint.EXTENSION)} and "
              f"{Path(args.out) / 'perplexity.png'}")
    if args.json:
        print(json.dumps(summary))
    return 0


def bits(perplexity):
    """Bits per character: log2 of the perplexity (the cross-entropy in base 2)."""
    import math

    return math.log2(perplexity)


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
             args.num_steps, "--hiddens", args.hiddens, "--num-train", args.num_train,
             "--num-val", args.num_val, "--lr", args.lr, "--clip", args.clip,
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
                          top_k=args.top_k, top_p=args.top_p, seed=args.seed)
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    if "val_ppl" in hparams:
        print(f"checkpoint: validation perplexity {hparams['val_ppl']:.2f} "
              f"({bits(hparams['val_ppl']):.3f} bits/char) after {hparams.get('epochs')} "
              f"epochs ({hparams.get('backend')}, {hparams.get('model')})", file=sys.stderr)
    print(text)
    return 0


class HELP(argparse.ArgumentDefaultsHelpFormatter):
    """Every option's help shows its default, except where there is none to show (a flag,
    or an option whose help says what leaving it out does)."""

    def _get_help_string(self, action):
        if action.default is None or action.nargs == 0:
            return action.help
        return super()._get_help_string(action)

TRAIN_EPILOG = """The corpus: by default the book (H. G. Wells, The Time Machine) is downloaded
once from the book's data host, checked against its SHA-1 and cached in the folder named by
the environment variable D2LRNN_DATA (default: the user cache folder). --corpus FILE trains on
a local text file instead."""


def build_parser():
    from ._version import __version__

    parser = argparse.ArgumentParser(
        prog="d2lrnn", formatter_class=HELP,
        description="The RNN section of Dive into Deep Learning, in five frameworks that "
                    "compute the same numbers.")
    parser.add_argument("--version", action="version", version=f"d2lrnn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name, help, **kwargs):
        return sub.add_parser(name, help=help, description=help, formatter_class=HELP,
                              **kwargs)

    demo = command("demo", "run every computation of the section once")
    _add_backend_flag(demo)
    demo.add_argument("--dtype", choices=FLOAT_DTYPES, default="float32",
                      help="float type of the weights")
    demo.add_argument("--seed", type=int, default=0, help="seed of the random weights")
    demo.set_defaults(run=cmd_demo)

    parity = command("parity", "print each backend's largest relative difference from the "
                               "NumPy reference, per quantity")
    parity.add_argument("--backends", nargs="+", choices=BACKENDS,
                        help="backends to compare (default: every backend installed here)")
    parity.add_argument("--dtypes", nargs="+", choices=FLOAT_DTYPES,
                        default=["float64", "float32"], help="float types to compare in")
    parity.add_argument("--seed", type=int, default=0, help="seed of the golden inputs")
    parity.set_defaults(run=cmd_parity)

    train = command("train", "train the character-level language model on The Time Machine",
                    epilog=TRAIN_EPILOG)
    _add_backend_flag(train)
    train.add_argument("--model", choices=MODELS, default="scratch",
                       help="scratch: the RNN written from the equations; concise: the "
                            "framework's own recurrent layer on the same weights")
    _add_training_flags(train)
    train.add_argument("--plain", dest="fast", action="store_false",
                       help="run the book's code path step by step (the same numbers as the "
                            "default fast path, computed later)")
    train.add_argument("--fast", dest="fast", action="store_true",
                       help="the fast path: the same numbers, computed sooner (the default)")
    train.add_argument("--record", help=argparse.SUPPRESS)  # JSON for bench and compare
    train.add_argument("--whole-book", action="store_true",
                       help="train on every window of the corpus but the last --num-val, "
                            "not the first --num-train")
    train.add_argument("--out", help="folder for checkpoint.safetensors and perplexity.png "
                                     "(default: write nothing)")
    train.add_argument("--json", action="store_true",
                       help="print the final figures as one JSON object on the last line")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=cmd_train, fast=True)

    generate = command("generate", "continue a prefix with a trained checkpoint")
    generate.add_argument("--checkpoint", required=True,
                          help="a checkpoint.safetensors written by d2lrnn train --out")
    _add_backend_flag(generate)
    generate.add_argument("--prefix", required=True, help="the text to continue")
    generate.add_argument("--num-preds", type=_non_negative, default=50,
                          help="characters to add")
    generate.add_argument("--temperature", type=float, default=0.0,
                          help="0: greedy (the book); > 0: sample from softmax(O / T)")
    generate.add_argument("--top-k", type=_positive, default=None,
                          help="sample among the k most likely characters only")
    generate.add_argument("--top-p", type=float, default=None,
                          help="sample from the smallest set of characters whose probability "
                               "reaches p (nucleus sampling)")
    generate.add_argument("--seed", type=int, default=None,
                          help="seed of the sampling (the same text in every backend)")
    generate.add_argument("--dtype", choices=FLOAT_DTYPES,
                          help="float type to compute in (default: the checkpoint's)")
    generate.set_defaults(run=cmd_generate)

    bench = command("bench", "time training and generation for every backend and model kind "
                             "installed here")
    _add_selection_flags(bench)
    bench.add_argument("--paths", nargs="+", choices=("fast", "plain"), default=["fast"],
                       help="the fast path, the plain (book) path, or both")
    bench.add_argument("--repeats", type=_positive, default=3,
                       help="runs of each, with seeds --seed, --seed + 1, ...; the table "
                            "shows their medians")
    _add_training_flags(bench)
    bench.add_argument("--out", help="folder for bench.md, bench.csv, bench.json, bench.png "
                                     "(default: print the table only)")
    bench.set_defaults(run=cmd_bench)

    compare = command("compare", "train the same initial weights on the same batches in "
                                 "every backend; compare the curves")
    _add_selection_flags(compare)
    compare.add_argument("--plain", dest="fast", action="store_false",
                         help="train on the plain (book) path instead of the fast one")
    compare.add_argument("--merge", nargs="+", metavar="JSON",
                         help="add runs from compare.json files written in other "
                              "environments (e.g. the mxnet one)")
    compare.add_argument("--merge-only", action="store_true",
                         help="run nothing here: only merge the --merge files")
    _add_training_flags(compare)
    compare.add_argument("--out", help="folder for compare.md, .csv, .json and .png "
                                       "(default: print the table only)")
    compare.set_defaults(run=cmd_compare)
    return parser


def _add_backend_flag(parser):
    parser.add_argument("--backend", choices=BACKENDS, default="numpy",
                        help="the framework to compute with")


def _add_selection_flags(parser):
    parser.add_argument("--backends", nargs="+", choices=BACKENDS,
                        help="backends to run (default: every backend installed here)")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS),
                        help="model kinds to run")


def _add_training_flags(parser):
    parser.add_argument("--epochs", type=_positive, default=BOOK["epochs"],
                        help="passes over the training windows")
    parser.add_argument("--batch-size", type=_positive, default=BOOK["batch_size"],
                        help="sequences per minibatch")
    parser.add_argument("--num-steps", type=_positive, default=BOOK["num_steps"],
                        help="characters per sequence (time steps)")
    parser.add_argument("--hiddens", type=_positive, default=BOOK["num_hiddens"],
                        help="hidden units of the RNN")
    parser.add_argument("--num-train", type=_positive, default=BOOK["num_train"],
                        help="training windows (the first ones of the corpus)")
    parser.add_argument("--num-val", type=_positive, default=BOOK["num_val"],
                        help="validation windows (the ones after the training windows)")
    parser.add_argument("--lr", type=float, default=BOOK["lr"], help="learning rate of SGD")
    parser.add_argument("--clip", type=float, default=BOOK["clip"],
                        help="gradient clipping threshold θ on the global norm (0: off)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the initial weights and of the batch order")
    parser.add_argument("--dtype", choices=FLOAT_DTYPES, default="float32",
                        help="float type of the weights and the computation")
    parser.add_argument("--corpus", help="a local text file to train on (default: the book, "
                                         "downloaded once; see D2LRNN_DATA)")


def _whole_number(text, least):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"expected a whole number >= {least}, got {text}")
    return value


def _positive(text):
    return _whole_number(text, 1)


def _non_negative(text):
    return _whole_number(text, 0)


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
