"""``d2lrnn report DIR``: a run's summary from its checkpoint, and its figure again (a
language model's run or a translator's)."""
import sys
import types
from pathlib import Path

from ...training import checkpoint
from .. import options, runs
from .shared import perplexities, write_figure, write_loss_figure

NAME = "report"
HELP = ("print the summary of a run from its checkpoint and write its figure again "
        "(perplexity.png; a translator's run: loss.png)")


def arguments(parser):
    parser.add_argument("folder", type=options.path, metavar="DIR",
                        help="a run's folder (d2lrnn train --out DIR, d2lrnn translate train "
                             "--out DIR)")


def run(args):
    path = Path(args.folder) / runs.CHECKPOINT
    if checkpoint.format_of(path) == checkpoint.TRANSLATOR_FORMAT:
        return translator(args.folder, checkpoint.read_translator(path))
    found = checkpoint.read(path)
    hparams, state = found.hparams, found.training
    if runs.is_finished(found):
        how_far = " (finished)"
    elif state is not None:
        how_far = f" (resume with: d2lrnn train --resume {args.folder})"
    else:
        how_far = "; its parameters still serve d2lrnn generate"
    print(f"{args.folder}: {runs.describe_settings(hparams)}; {runs.epochs_trained(found)} "
          f"trained{how_far}")
    if "val_ppl" in hparams:
        print(perplexities(hparams["train_ppl"], hparams["val_ppl"]))
    if state is None or not state["history"]["epoch"]:
        print("d2lrnn: the checkpoint holds no history to draw", file=sys.stderr)
        return 1
    return write_figure(args.folder, state["history"], hparams)


def translator(folder, found):
    """A translator's run: its settings, how far it trained, its last losses, loss.png."""
    hparams, state = found.hparams, found.training
    done = state["epoch"] >= hparams["epochs"]
    how_far = " (finished)" if done else \
        f" (resume with: d2lrnn translate train --resume {folder})"
    layers = f"{hparams['layers']} GRU layer{'s' if hparams['layers'] != 1 else ''}"
    print(f"{folder}: a {hparams['backend']} translator ({layers} of "
          f"{hparams['num_hiddens']}, {hparams['dtype']}); {state['epoch']} of "
          f"{hparams['epochs']} epochs trained{how_far}")
    history = state["history"]
    if not history["epoch"]:
        print("d2lrnn: the checkpoint holds no history to draw", file=sys.stderr)
        return 1
    print(f"train loss {history['train_loss'][-1]:.3f}, validation loss "
          f"{history['val_loss'][-1]:.3f}; BLEU and translations: d2lrnn translate run "
          f"--run {folder} SENTENCE")
    return write_loss_figure(folder, types.SimpleNamespace(history=history, hparams=hparams),
                             with_checkpoint=False)
