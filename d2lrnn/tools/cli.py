"""The ``d2lrnn`` command (also ``python -m d2lrnn``)."""
import argparse
import json
import os
import signal
import sys
import threading
import warnings
from pathlib import Path

from ..base.backend import BACKENDS, FLOAT_DTYPES, available_backends, enable_float64, load_backend
from ..base.errors import UserError
from ..book.data import MAX_CORPUS_MB
from ..book.modern import cell_named
from ..cells import CELLS
from .experiment import BOOK, MODELS


def _enable_float64(backends, dtypes):
    if "float64" in dtypes:
        for name in backends:
            enable_float64(name)


def cmd_demo(args):
    from ..chapters.demo import section_tour

    _enable_float64([args.backend], [args.dtype])
    print("\n".join(section_tour(load_backend(args.backend), args.dtype, args.seed)))
    return 0


def cmd_parity(args):
    from .parity import format_table, parity_table

    backends = args.backends or available_backends()
    _enable_float64(backends, args.dtypes)
    rows = parity_table(backends, args.dtypes, args.seed, args.device)
    print(format_table(rows))
    failed = [(b, dt, q, d) for b, dt, q, d, tol in rows if not d <= tol]
    for backend, dtype, quantity, diff in failed:
        print(f"OUT OF BOUND: {backend} {dtype} {quantity}: {diff:.2e}", file=sys.stderr)
    return 1 if failed else 0


def cmd_doctor(args):
    from . import doctor

    if args.backend:  # one backend, checked in this process (doctor runs each this way)
        result = doctor.check_backend(args.backend)
        print(json.dumps(result) if args.json else doctor.report([result]))
        return 0 if result["ok"] else 1
    results, code = doctor.doctor(args.backends or BACKENDS)
    print(json.dumps(results) if args.json else doctor.report(results))
    return code


def cmd_train(args):
    from tqdm.auto import tqdm

    from ..training.train import TrainingDiverged, perplexity
    from . import runs

    # With --resume the run's own settings hold: pass on only the options given explicitly
    # (runs.train refuses any but --epochs).
    settings = {name: getattr(args, dest) for name, dest in TRAIN_SETTINGS.items()
                if not args.resume or _given(args, dest)}
    out = args.resume or args.out
    if args.resume and args.out and Path(args.out) != Path(args.resume):
        raise runs.checks.BadArgument("--resume DIR continues the run in DIR: drop --out")
    progress = {"epoch": 0, "device": ""}

    main_thread = threading.current_thread() is threading.main_thread()
    default_handler = signal.getsignal(signal.SIGINT)

    def on_start(hparams):
        progress["device"] = f" on {hparams['device']}"
        if main_thread:  # from now on Ctrl-C stops between two steps (before: at once)
            signal.signal(signal.SIGINT, interrupt)

    class LazyBar:  # shown once training starts: checks that refuse the run print alone
        bar = None

        def __getattr__(self, name):
            if LazyBar.bar is None:
                total, initial = args.epochs, 0
                desc = f"{args.backend} {args.model}{progress['device']}"
                if args.resume:  # the run's own settings, from the checkpoint resumed
                    saved, (_, state), _ = runs.resume_settings(out, settings.get("epochs"))
                    total, initial = saved["epochs"], state["epoch"]
                    desc = f"{saved['backend']} {saved['model']}{progress['device']}"
                    progress["epoch"] = initial
                LazyBar.bar = tqdm(total=total, initial=initial, unit="epoch",
                                   file=sys.stderr, disable=args.quiet, desc=desc)
            return getattr(LazyBar.bar, name)

    bar = LazyBar()

    def on_step(step, loss):
        bar.set_postfix(step=step, ppl=f"{perplexity(loss):.2f}", refresh=False)
        if progress.get("interrupted"):  # Ctrl-C: stop here, between two steps
            raise KeyboardInterrupt

    def interrupt(signum, frame):
        # Ctrl-C asks to stop at the next step: a compiled kernel (Numba, XLA) is not left
        # in the middle, where the interruption surfaced as another error. A second Ctrl-C
        # stops at once.
        if progress.get("interrupted"):
            raise KeyboardInterrupt
        progress["interrupted"] = True

    def on_epoch(record):
        progress["epoch"] = record["epoch"]
        bar.set_postfix(train_ppl=f"{record['train_ppl']:.2f}",
                        val_ppl=f"{record['val_ppl']:.2f}")
        bar.update(1)

    try:
        summary, lm, data, history, hparams = runs.train(
            out, overwrite=args.overwrite, resume=bool(args.resume), on_step=on_step,
            on_epoch=on_epoch, device=args.device, on_start=on_start,
            max_corpus_mb=args.max_corpus_mb, **settings)
    except TrainingDiverged as err:
        close(LazyBar.bar)
        print(f"d2lrnn: {err}", file=sys.stderr)
        kept = Path(out) / runs.CHECKPOINT if out else None
        if kept and kept.exists() and err.epoch > 1:
            saved = runs.checkpoint.read(kept).hparams
            lr = args.lr if _given(args, "lr") else saved["lr"]
            lr = saved["lr"] if lr > saved["lr"] else lr / 4  # the last rate that trained
            target = args.epochs if _given(args, "epochs") else saved["epochs"]
            more = f" --epochs {target}" if target != saved["epochs"] else ""
            print(f"d2lrnn: the checkpoint of epoch {err.epoch - 1} is in {out}; nothing "
                  f"non-finite was written. Continue from it with a smaller step: d2lrnn "
                  f"train --resume {out} --lr {lr:g}{more}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        close(LazyBar.bar)
        done = progress["epoch"]
        if out and (Path(out) / runs.CHECKPOINT).exists():  # what the folder really holds
            done = (runs.checkpoint.load_training(Path(out) / runs.CHECKPOINT) or {}).get(
                "epoch", done)
        where = (f"the checkpoint of epoch {done} is in {out}; resume with: d2lrnn train "
                 f"--resume {out}" if out and done else "nothing was saved" + (
                     "" if out else " (no --out)"))
        print(f"\ninterrupted in epoch {done + 1}; {where}", file=sys.stderr)
        return 130
    except (runs.RunFolderLost, runs.DiskFull) as err:
        close(LazyBar.bar)
        print(f"\nd2lrnn: {err}", file=sys.stderr)
        return 1
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, default_handler)
    close(LazyBar.bar)
    path = "fast path" if hparams["fast"] else "plain path (the book's code, step by step)"
    if hparams["layers"] > 1 and "--plain" not in args.argv:
        print(f"note: the fast path covers one recurrent layer; the {hparams['layers']}-layer "
              f"{hparams['cell'].upper()} trained on the plain path", file=sys.stderr)
    print(f"train perplexity {summary['train_ppl']:.2f} ({bits(summary['train_ppl']):.3f} "
          f"bits/char), validation perplexity {summary['val_ppl']:.2f} "
          f"({bits(summary['val_ppl']):.3f} bits/char); {summary['seconds']:.1f} s on the "
          f"{path} on {summary['device']}, {summary['tokens_per_s']:,.0f} tokens/s")
    for prefix, text in summary["samples"].items():
        print(f"{prefix!r} -> {text!r}")
    if args.record:
        write_record(args.record, summary, lm, data, history, hparams)
    code = write_figure(out, history, hparams, wrote=Path(out) / runs.CHECKPOINT) if out else 0
    if args.json:  # the last line
        print(json.dumps(summary))
    return code


def write_figure(folder, history, hparams, wrote=None):
    """perplexity.png of a run into its folder: exit code 0, or 1 with a message saying
    what is kept and how to write it later, where the disk refuses it."""
    from ..base.plot import perplexity_figure, save_figure

    figure = Path(folder) / "perplexity.png"
    try:
        save_figure(perplexity_figure(history, f"{hparams['backend']} {hparams['model']}"),
                    figure)
    except OSError as err:
        print(f"d2lrnn: could not write {figure} ({err.strerror or err}); the run itself is "
              f"complete in {Path(folder) / 'checkpoint.safetensors'}: write the figure later "
              f"with: d2lrnn report {folder}", file=sys.stderr)
        return 1
    print(f"wrote {wrote} and {figure}" if wrote else f"wrote {figure}")
    return 0


# The training settings (runs.DEFAULTS) and the command-line options that carry them.
TRAIN_SETTINGS = {"backend": "backend", "model": "model", "cell": "cell", "layers": "layers",
                  "epochs": "epochs",
                  "batch_size": "batch_size", "num_steps": "num_steps",
                  "num_hiddens": "hiddens", "lr": "lr", "clip": "clip", "seed": "seed",
                  "corpus": "corpus", "dtype": "dtype", "whole_book": "whole_book",
                  "num_train": "num_train", "num_val": "num_val", "fast": "fast"}


def _given(args, dest):
    """Whether the option behind ``dest`` was given on the command line."""
    flags = {"hiddens": ("--hiddens",), "fast": ("--fast", "--plain")}.get(
        dest, ("--" + dest.replace("_", "-"),))
    return any(word == flag or word.startswith(flag + "=") for word in args.argv
               for flag in flags)


def close(bar):
    if bar is not None:
        bar.close()


def bits(perplexity):
    """Bits per character: log2 of the perplexity (the cross-entropy in base 2)."""
    import math

    return math.log2(perplexity)


def write_record(path, summary, lm, data, history, hparams):
    """The run's JSON record, as bench and compare read it (see d2lrnn.tools.bench)."""
    import resource

    from ..base.files import atomic_write
    from . import machine
    from .experiment import generation_speed

    # ru_maxrss: the process's peak resident memory, in KiB on Linux (bytes on macOS)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = peak / 2**20 if sys.platform == "darwin" else peak / 2**10
    record = {**summary, "peak_mb": peak_mb, "machine": machine.describe(),
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
    from . import machine

    print(f"measured on {machine.line()}")
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
    flags = ["--cell", args.cell, "--layers", args.layers, "--epochs", args.epochs,
             "--batch-size", args.batch_size, "--num-steps", args.num_steps, "--hiddens",
             args.hiddens, "--num-train", args.num_train, "--num-val", args.num_val, "--lr",
             args.lr, "--clip", args.clip, "--seed", args.seed, "--dtype", args.dtype,
             "--device", args.device]
    if args.corpus:
        flags += ["--corpus", args.corpus, "--max-corpus-mb", args.max_corpus_mb]
    return [str(f) for f in flags]


def cmd_generate(args):
    import time

    from ..training import checkpoint
    from ..training.generation import stream
    from .experiment import build_lm

    found = checkpoint.read(args.checkpoint)
    params, vocab, hparams = found.params, found.vocab, found.hparams
    dtype = args.dtype or hparams.get("dtype", "float32")
    _enable_float64([args.backend], [dtype])
    d2l = load_backend(args.backend)
    model, cell = hparams.get("model", "scratch"), hparams.get("cell", "rnn")
    reset = checkpoint.cell_reset(hparams)  # a GRU's variant
    if model == "concise" and not d2l.ops.has_cell_layer(cell_named(cell, reset or "after")):
        model = "scratch"  # the same weights and the same function, from scratch
        print(f"note: {args.backend} has no layer of its own for this {cell.upper()}; "
              f"running the scratch model on the same weights", file=sys.stderr)
    layers = hparams.get("layers", 1)
    with d2l.ops.on(d2l.ops.find_device(args.device)):  # a checkpoint loads onto any device
        lm = build_lm(d2l, model, len(vocab), params["W_hq"].shape[0], dtype, cell=cell,
                      reset=reset, layers=layers)
        lm.set_params(params)
    if "val_ppl" in hparams:
        done = (found.training or {}).get("epoch", hparams.get("epochs"))
        print(f"checkpoint: validation perplexity {hparams['val_ppl']:.2f} "
              f"({bits(hparams['val_ppl']):.3f} bits/char) after {done} of "
              f"{hparams.get('epochs')} epochs ({hparams.get('backend')}, "
              f"{hparams.get('model')} {hparams.get('cell', 'rnn').upper()})", file=sys.stderr)
    made, began, told = 0, time.perf_counter(), False
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pieces = stream(lm, args.prefix, args.num_preds, vocab, temperature=args.temperature,
                        top_k=args.top_k, top_p=args.top_p, seed=args.seed)
        try:
            for index, piece in enumerate(pieces):
                if index == 1:  # the prefix is out: the warnings about it come first
                    for warning in caught:
                        print(f"warning: {warning.message}", file=sys.stderr)
                    caught.clear()
                sys.stdout.write(piece)
                sys.stdout.flush()
                made += len(piece) if index else 0
                seconds = time.perf_counter() - began
                if not told and made >= 1000 and seconds > 0:
                    left = (args.num_preds - made) / (made / seconds)
                    told = True
                    if left > 10:
                        print(f"\n[d2lrnn: {args.num_preds:,} characters at about "
                              f"{made / seconds:,.0f} per second: about {_duration(left)} "
                              f"more; Ctrl-C stops]", file=sys.stderr)
        except KeyboardInterrupt:
            print(f"\n[d2lrnn: interrupted after {made:,} of {args.num_preds:,} characters]",
                  file=sys.stderr)
            return 130
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    print()
    return 0


def _duration(seconds):
    """'42 s', '7 min', '3.5 h', '12 days'."""
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:.0f} s"


def cmd_report(args):
    """The summary of a run from its checkpoint, and its figure written again."""
    from ..training import checkpoint
    from . import runs

    found = checkpoint.read(Path(args.folder) / runs.CHECKPOINT)
    hparams, state = found.hparams, found.training or {}
    history = state.get("history")
    done, planned = state.get("epoch", hparams.get("epochs")), hparams.get("epochs")
    print(f"{args.folder}: {runs.describe_settings(hparams)}; {done} of {planned} epochs "
          f"trained" + (" (finished)" if done == planned else
                        f" (resume with: d2lrnn train --resume {args.folder})"))
    if "val_ppl" in hparams:
        print(f"train perplexity {hparams['train_ppl']:.2f} ({bits(hparams['train_ppl']):.3f} "
              f"bits/char), validation perplexity {hparams['val_ppl']:.2f} "
              f"({bits(hparams['val_ppl']):.3f} bits/char)")
    if not history:
        print("d2lrnn: the checkpoint holds no history to draw", file=sys.stderr)
        return 1
    return write_figure(args.folder, history, hparams)


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
    from .._version import __version__

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
    _add_device_flag(parity)
    parity.set_defaults(run=cmd_parity)

    doctor = command("doctor", "check every backend: installed or not, its version, its "
                               "devices, float64, and a short parity check on each device "
                               "(exit code 1 when something installed is broken)")
    doctor.add_argument("--backends", nargs="+", choices=BACKENDS,
                        help="backends to check (default: every one, installed or not)")
    doctor.add_argument("--backend", choices=BACKENDS, help=argparse.SUPPRESS)  # one, here
    doctor.add_argument("--json", action="store_true", help="print the findings as JSON")
    doctor.set_defaults(run=cmd_doctor)

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
    # the run's JSON record, for bench and compare
    train.add_argument("--record", type=_path("--record"), help=argparse.SUPPRESS)
    train.add_argument("--whole-book", action="store_true",
                       help="train on every window of the corpus but the last --num-val, "
                            "not the first --num-train")
    train.add_argument("--out", type=_path("--out"),
                       help="folder for checkpoint.safetensors (written after every epoch) "
                            "and perplexity.png (default: write nothing)")
    train.add_argument("--overwrite", action="store_true",
                       help="replace the run in --out (refused without it)")
    train.add_argument("--resume", metavar="DIR", type=_path("--resume"),
                       help="continue the run in DIR from its last completed epoch, with its "
                            "own settings (--epochs may raise its target)")
    train.add_argument("--json", action="store_true",
                       help="print the final figures as one JSON object on the last line")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=cmd_train, fast=True)

    report = command("report", "print the summary of a run from its checkpoint and write its "
                               "figure (perplexity.png) again")
    report.add_argument("folder", type=_path("DIR"), metavar="DIR",
                        help="a run's folder (d2lrnn train --out DIR)")
    report.set_defaults(run=cmd_report)

    generate = command("generate", "continue a prefix with a trained checkpoint")
    generate.add_argument("--checkpoint", required=True, type=_path("--checkpoint"),
                          help="a checkpoint.safetensors written by d2lrnn train --out")
    _add_backend_flag(generate)
    generate.add_argument("--prefix", required=True, help="the text to continue")
    generate.add_argument("--num-preds", type=_non_negative, default=50,
                          help="characters to add")
    generate.add_argument("--temperature", type=_non_negative_real, default=0.0,
                          help="0: greedy (the book); > 0: sample from softmax(O / T)")
    generate.add_argument("--top-k", type=_positive, default=None,
                          help="sample among the k most likely characters only")
    generate.add_argument("--top-p", type=_probability, default=None,
                          help="sample from the smallest set of characters whose probability "
                               "reaches p (nucleus sampling)")
    generate.add_argument("--seed", type=_non_negative, default=None,
                          help="seed of the sampling (the same text in every backend)")
    generate.add_argument("--dtype", choices=FLOAT_DTYPES,
                          help="float type to compute in (default: the checkpoint's)")
    _add_device_flag(generate)
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
    bench.add_argument("--out", type=_path("--out"),
                       help="folder for bench.md, bench.csv, bench.json, bench.png "
                                     "(default: print the table only)")
    bench.set_defaults(run=cmd_bench)

    compare = command("compare", "train the same initial weights on the same batches in "
                                 "every backend; compare the curves")
    _add_selection_flags(compare)
    compare.add_argument("--plain", dest="fast", action="store_false",
                         help="train on the plain (book) path instead of the fast one")
    compare.add_argument("--merge", nargs="+", metavar="JSON", type=_path("--merge"),
                         help="add runs from compare.json files written in other "
                              "environments (e.g. the mxnet one)")
    compare.add_argument("--merge-only", action="store_true",
                         help="run nothing here: only merge the --merge files")
    _add_training_flags(compare)
    compare.add_argument("--out", type=_path("--out"),
                         help="folder for compare.md, .csv, .json and .png "
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


def _add_device_flag(parser):
    parser.add_argument("--device", type=_device, default="auto",
                        help="where to compute: auto (the first accelerator the framework "
                             "sees, else the CPU), cpu, cuda (cuda:1, ...), mps (Apple "
                             "silicon, PyTorch) or gpu (any accelerator); a device the "
                             "framework lacks here falls back to the CPU with a warning")


def _device(text):
    from ..base.backend import DEVICE_KINDS

    kind, colon, index = text.partition(":")
    if kind not in DEVICE_KINDS or (colon and not (index.isdigit()
                                                   and kind in ("cuda", "gpu"))):
        raise argparse.ArgumentTypeError(f"expected one of {', '.join(DEVICE_KINDS)} (cuda "
                                          f"and gpu may take an index: cuda:1), got {text!r}")
    return text


def _add_training_flags(parser):
    _add_device_flag(parser)
    parser.add_argument("--cell", choices=list(CELLS), default="rnn",
                        help="the recurrent cell: the section's RNN, the GRU (10.2) or the "
                             "LSTM (10.1), each on the fast path (a concise GRU is the "
                             "frameworks' own: the reset gate after the product)")
    parser.add_argument("--layers", type=_positive, default=1,
                        help="recurrent layers, each one's outputs the next one's inputs (the "
                             "deep RNN of 10.3); more than one trains on the plain path")
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
    parser.add_argument("--lr", type=_positive_real, default=BOOK["lr"],
                        help="learning rate of SGD")
    parser.add_argument("--clip", type=_non_negative_real, default=BOOK["clip"],
                        help="gradient clipping threshold θ on the global norm (0: off)")
    parser.add_argument("--seed", type=_non_negative, default=0,
                        help="seed of the initial weights and of the batch order")
    parser.add_argument("--dtype", choices=FLOAT_DTYPES, default="float32",
                        help="float type of the weights and the computation")
    parser.add_argument("--corpus", type=_path("--corpus"),
                        help="a local text file to train on (default: the book, downloaded "
                             "once; see D2LRNN_DATA)")
    parser.add_argument("--max-corpus-mb", type=_positive, default=MAX_CORPUS_MB,
                        help="the largest corpus file read, in MB (the book is 0.18 MB)")


def _path(option):
    """An argparse type for a path option: empty or blank text (an unset shell variable) is
    refused, where it would otherwise mean the current folder."""
    def path(text):
        if not text.strip():
            raise argparse.ArgumentTypeError(f"an empty path ({text!r}); give a file or "
                                             f"folder (an unset shell variable?)")
        return text
    path.__name__ = option.lstrip("-")
    return path


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


def _real(text, least=None, above=None, most=None):
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    bound = " and ".join(b for b in (f">= {least:g}" if least is not None else "",
                                     f"> {above:g}" if above is not None else "",
                                     f"<= {most:g}" if most is not None else "") if b)
    if not math.isfinite(value) or (least is not None and value < least) or (
            above is not None and value <= above) or (most is not None and value > most):
        raise argparse.ArgumentTypeError(f"expected a finite number {bound}, got {text}")
    return value


def _positive_real(text):
    return _real(text, above=0)


def _non_negative_real(text):
    return _real(text, least=0)


def _probability(text):
    return _real(text, above=0, most=1)


def _non_negative(text):
    return _whole_number(text, 0)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as one line a user reads (a missing device, a character not in the
    vocabulary), not a source location."""
    print(f"d2lrnn: warning: {message}", file=sys.stderr)


def main(argv=None):
    """Run a command: its exit code. What the user can fix (a :class:`UserError`: an
    argument, the corpus, a checkpoint, a missing framework) is one line and exit 2; a bug
    shows its traceback (so do user errors with the environment variable D2LRNN_DEBUG=1)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            return args.run(args)
    except UserError as err:
        if os.environ.get("D2LRNN_DEBUG"):
            raise
        print(f"d2lrnn: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a full disk, a folder that went away
        print(f"d2lrnn: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
