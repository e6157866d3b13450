"""``d2lrnn report DIR``: a run's summary from its checkpoint, and its figure again."""
import sys
from pathlib import Path

from ...training import checkpoint
from .. import options, runs
from .shared import perplexities, write_figure

NAME = "report"
HELP = ("print the summary of a run from its checkpoint and write its figure (perplexity.png) "
        "again")


def arguments(parser):
    parser.add_argument("folder", type=options.path, metavar="DIR",
                        help="a run's folder (d2lrnn train --out DIR)")


def run(args):
    found = checkpoint.read(Path(args.folder) / runs.CHECKPOINT)
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
