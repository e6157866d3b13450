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
        on_step=on_step, on_epoch=on_epoch)
    bar.close()
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
    train.add_argument("--epochs", type=_positive, default=BOOK["epochs"])
    train.add_argument("--batch-size", type=_positive, default=BOOK["batch_size"])
    train.add_argument("--num-steps", type=_positive, default=BOOK["num_steps"])
    train.add_argument("--hiddens", type=_positive, default=BOOK["num_hiddens"])
    train.add_argument("--lr", type=float, default=BOOK["lr"])
    train.add_argument("--clip", type=float, default=BOOK["clip"],
                       help="gradient clipping threshold θ on the global norm (0: off)")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--dtype", choices=FLOAT_DTYPES, default="float32")
    train.add_argument("--corpus", help="a local text file to train on instead of the "
                                        "downloaded book")
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
    return parser


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
