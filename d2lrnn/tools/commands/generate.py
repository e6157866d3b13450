"""``d2lrnn generate``: continue a prefix with a trained checkpoint, streamed as it comes."""
import sys
import time
import warnings
from pathlib import Path

from ...base.backend import FLOAT_DTYPES, load_backend
from ...base.errors import BadArgument
from ...training import checkpoint
from ...training import generation
from .. import options, runs
from ..experiment import build_lm
from .shared import bits, duration, float64_where_asked

NAME = "generate"
HELP = "continue a prefix with a trained checkpoint"


def arguments(parser):
    parser.add_argument("--checkpoint", required=True, type=options.path,
                        help="a run's folder (d2lrnn train --out DIR), or the "
                             "checkpoint.safetensors in it")
    options.add_backend(parser)
    parser.add_argument("--prefix", required=True, help="the text to continue")
    parser.add_argument("--num-preds", type=options.typed(generation.NUM_PREDS),
                        default=50, help="characters to add")
    parser.add_argument("--temperature", type=options.typed(generation.TEMPERATURE),
                        default=0.0, help="0: greedy (the book); > 0: sample from "
                                          "softmax(O / T)")
    parser.add_argument("--top-k", type=options.typed(generation.TOP_K),
                        help="sample among the k most likely characters only")
    parser.add_argument("--top-p", type=options.typed(generation.TOP_P),
                        help="sample from the smallest set of characters whose probability "
                             "reaches p (nucleus sampling)")
    parser.add_argument("--seed", type=options.typed(generation.SEED),
                        help="seed of the sampling (the same text in every backend)")
    parser.add_argument("--dtype", choices=FLOAT_DTYPES,
                        help="float type to compute in (default: the checkpoint's)")
    options.add_device(parser)


def run(args):
    found = checkpoint.read(checkpoint_file(args.checkpoint))
    lm = model_of(found, args)
    hparams = found.hparams
    if "val_ppl" in hparams:
        print(f"checkpoint: validation perplexity {hparams['val_ppl']:.2f} "
              f"({bits(hparams['val_ppl']):.3f} bits/char) after {runs.epochs_trained(found)}"
              f" ({hparams.get('backend')}, "
              f"{hparams.get('model')} {hparams.get('cell', 'rnn').upper()})", file=sys.stderr)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pieces = generation.stream(lm, args.prefix, args.num_preds, found.vocab,
                        temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                        seed=args.seed)
        try:
            write_stream(pieces, args.num_preds, caught)
        except KeyboardInterrupt as stop:
            print(f"\n[d2lrnn: interrupted after {stop.args[0] if stop.args else 0:,} of "
                  f"{args.num_preds:,} characters]", file=sys.stderr)
            return 130
    show(caught)
    print()
    return 0


def checkpoint_file(path):
    """The checkpoint ``path`` names: the file itself, or a run folder's checkpoint."""
    path = Path(path)
    if not path.is_dir():
        return path
    if not (path / runs.CHECKPOINT).exists():
        raise BadArgument(f"the folder {path} holds no {runs.CHECKPOINT}: give a run's folder "
                          f"(d2lrnn train --out DIR) or a checkpoint file")
    return path / runs.CHECKPOINT


def model_of(found, args):
    """The checkpoint's model in ``args.backend`` on ``args.device``, with its weights."""
    hparams = found.hparams
    dtype = args.dtype or hparams.get("dtype", "float32")
    float64_where_asked([args.backend], [dtype])
    d2l = load_backend(args.backend)
    model, cell = hparams.get("model", "scratch"), checkpoint.cell_of(hparams)
    if model == "concise" and not d2l.ops.has_cell_layer(cell):
        model = "scratch"  # the same weights and the same function, from scratch
        print(f"note: {args.backend} has no layer of its own for this "
              f"{hparams.get('cell', 'rnn').upper()}; running the scratch model on the same "
              f"weights", file=sys.stderr)
    with d2l.ops.on(d2l.ops.find_device(args.device)):  # a checkpoint loads onto any device
        lm = build_lm(d2l, model, len(found.vocab), found.params["W_hq"].shape[0], dtype,
                      cell=cell.key, layers=hparams.get("layers", 1))
        lm.set_params(found.params)
    return lm


def write_stream(pieces, num_preds, caught):
    """Print the text as it comes (the prefix's warnings before it, not inside the text); for
    a long text, its rate and how long the rest will take. Ctrl-C: KeyboardInterrupt(characters
    made)."""
    made, began, told = 0, time.perf_counter(), False
    try:
        for index, piece in enumerate(pieces):
            if index == 0:  # the prefix is read and checked: its warnings first
                show(caught)
                caught.clear()
                sys.stderr.flush()
            sys.stdout.write(piece)
            sys.stdout.flush()
            made += len(piece) if index else 0
            seconds = time.perf_counter() - began
            if not told and made >= 1000 and seconds > 0:
                told, left = True, (num_preds - made) / (made / seconds)
                if left > 10:
                    print(f"\n[d2lrnn: {num_preds:,} characters at about "
                          f"{made / seconds:,.0f} per second: about {duration(left)} more; "
                          f"Ctrl-C stops]", file=sys.stderr)
    except KeyboardInterrupt:
        raise KeyboardInterrupt(made) from None


def show(caught):
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)

