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
    parser.add_argument("folder", type=options.path("DIR"), metavar="DIR",
                        help="a run's folder (d2lrnn train --out DIR)")


def run(args):
    found = checkpoint.read(Path(args.folder) / runs.CHECKPOINT)
    hparams, state = found.hparams, found.training or {}
    history = state.get("history")
    done, planned = state.get("epoch", hparams.get("epochs")), hparams.get("epochs")
    print(f"{args.folder}: {runs.describe_settings(hparams)}; {done} of {planned} epochs "
          f"trained" + (" (finished)" if done == planned else
                        f" (resume with: d2lrnn train --resume {args.folder})"))
    if "val_ppl" in hparams:
        print(perplexities(hparams["train_ppl"], hparams["val_ppl"]))
    if not history:
        print("d2lrnn: the checkpoint holds no history to draw", file=sys.stderr)
        return 1
    return write_figure(args.folder, history, hparams)
