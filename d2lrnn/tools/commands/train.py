"""``d2lrnn train``: the character-level language model on The Time Machine."""
import argparse
import json
import sys
from pathlib import Path

from ...base.errors import BadArgument
from ...training import checkpoint
from ...training.train import TrainingDiverged, lower_rate, perplexity
from ...training.settings import FIELDS
from .. import interrupts, options, runs
from ..experiment import write_record
from .shared import perplexities, write_figure

NAME = "train"
HELP = "train the character-level language model on The Time Machine"
EPILOG = """The corpus: by default the book (H. G. Wells, The Time Machine) is downloaded once
from the book's data host, checked against its SHA-1 and cached in the folder named by the
environment variable D2LRNN_DATA (default: the user cache folder). --corpus FILE trains on a
local text file instead."""


def arguments(parser):
    options.add_device(parser)
    options.add_settings(parser, FIELDS)
    options.add_max_corpus(parser)
    # the run's JSON record, for bench and compare
    parser.add_argument("--record", type=options.path, help=argparse.SUPPRESS)
    options.add_run_folder(parser, "perplexity.png")


def run(args):
    out = args.resume or args.out
    if args.resume and args.out and Path(args.out) != Path(args.resume):
        raise BadArgument("--resume DIR continues the run in DIR: drop --out")
    # With --resume the run's own settings hold: only the options given are passed on.
    chosen = (options.given_settings(args, args.argv) if args.resume else
              {name: getattr(args, name) for name in FIELDS})
    progress = Progress(args)
    result, code = progress.train(out, lambda: runs.train(
        out, overwrite=args.overwrite, resume=bool(args.resume), device=args.device,
        max_corpus_mb=args.max_corpus_mb, **progress.callbacks(), **chosen),
        lambda err: diverged_advice(args, out, err))
    if code is not None:
        return code
    if progress.stop:  # asked for after the last step: what remains (samples, figure) is not
        return progress.interrupted(out, progress.stop)
    summarise(result, args.argv)
    if args.record:
        write_record(args.record, result)
    code = (write_figure(out, result.history, result.hparams, wrote=Path(out) / runs.CHECKPOINT)
            if out else 0)
    if args.json:  # the last line
        print(json.dumps(result.summary))
    return code


def summarise(result, argv):
    summary, hparams = result.summary, result.hparams
    path = "fast path" if hparams["fast"] else "plain path (the book's code, step by step)"
    print(f"{perplexities(summary['train_ppl'], summary['val_ppl'])}; "
          f"{summary['seconds']:.1f} s on the {path} on {summary['device']}, "
          f"{summary['tokens_per_s']:,.0f} tokens/s")
    for prefix, text in summary["samples"].items():
        print(f"{prefix!r} -> {text!r}")


def diverged_advice(args, out, err):
    """The command that continues a diverged run from its last checkpoint, a line."""
    kept = Path(out) / runs.CHECKPOINT if out else None
    if not (kept and kept.exists() and err.epoch > 1):
        return None
    saved = checkpoint.read(kept).hparams
    given = options.given_settings(args, args.argv)
    lr = given.get("lr", saved["lr"])
    lr = saved["lr"] if lr > saved["lr"] else lower_rate(lr)  # else the last that trained
    target = given.get("epochs", saved["epochs"])
    more = f" --epochs {target}" if target != saved["epochs"] else ""
    return (f"the checkpoint of epoch {err.epoch - 1} is in {out}; nothing non-finite was "
            f"written. Continue from it with a smaller step: d2lrnn train --resume {out} "
            f"--lr {lr:g}{more}")


class Progress:
    """The progress bar (shown once training starts: checks that refuse the run print
    alone), and Ctrl-C, SIGTERM or SIGHUP (:mod:`~d2lrnn.tools.interrupts`): before
    training it stops at once; during training at the next step (a compiled kernel is not
    left in the middle) or once the epoch's checkpoint is written, a second one at once. One
    that comes after the last step still stops the command: the run is complete, and the
    line says so and how to see it (``d2lrnn report``); samples and figure are skipped."""

    command = "d2lrnn train"  # what continues a stopped run

    def __init__(self, args):
        self.args, self.bar, self.epoch, self.device = args, None, 0, ""
        self.planned = None
        self.stop = None  # the signal that asked training to stop
        self.handlers = {}

    def train(self, out, start, advice):
        """``start()``, a run into ``out``, with each way it stops as an exit code: (its
        result, None), or (None, the code) after the line that says why (a divergence's
        ``advice(err)`` below it)."""
        try:
            return start(), None
        except TrainingDiverged as err:
            return None, self.failed(err, advice(err))
        except KeyboardInterrupt as stop:
            return None, self.interrupted(out, interrupts.signal_of(stop))
        except (runs.RunFolderLost, runs.DiskFull) as err:
            return None, self.failed(err)
        finally:
            self.end()

    def callbacks(self):
        return {"on_start": self.on_start, "on_step": self.on_step, "on_epoch": self.on_epoch}

    def on_start(self, hparams, first_epoch):
        from tqdm.auto import tqdm

        self.epoch = first_epoch
        self.bar = tqdm(total=hparams["epochs"], initial=first_epoch, unit="epoch",
                        file=sys.stderr,
                        disable=self.args.quiet,
                        desc=f"{hparams['backend']} {hparams['model']} on {hparams['device']}")
        self.planned = hparams["epochs"]
        interrupts.raise_if_pressed()  # a press while the run was set up, swallowed
        self.handlers = interrupts.on_stop(self.interrupt)

    def interrupt(self, signum, frame):
        interrupts.note(signum)
        if self.stop:
            raise interrupts.Interrupted(signum)
        self.stop = signum

    def step_figures(self, loss):
        """What the bar shows after a step of this ``loss``."""
        return {"ppl": f"{perplexity(loss):.2f}"}

    def epoch_figures(self, record):
        """What the bar shows after an epoch (its ``record``)."""
        return {"train_ppl": f"{record['train_ppl']:.2f}", "val_ppl": f"{record['val_ppl']:.2f}"}

    def on_step(self, step, loss):
        self.bar.set_postfix(step=step, **self.step_figures(loss), refresh=False)
        if self.stop:
            raise interrupts.Interrupted(self.stop)

    def on_epoch(self, record):
        self.epoch = record["epoch"]
        self.bar.set_postfix(**self.epoch_figures(record))
        self.bar.update(1)
        if self.stop:  # the epoch's checkpoint is written: stop there
            raise interrupts.Interrupted(self.stop)

    def end(self):
        if self.bar is not None:
            bar, self.bar = self.bar, None
            try:
                bar.close()
            except (OSError, ValueError):  # the terminal is gone (SIGHUP)
                pass
        interrupts.restore(self.handlers)
        self.handlers = {}

    def failed(self, err, advice=None):
        self.end()
        print(f"d2lrnn: {err}", file=sys.stderr)
        if advice:
            print(f"d2lrnn: {advice}", file=sys.stderr)
        return 1

    def interrupted(self, out, signum):
        """The line that says where a stopped run is, and the exit code for ``signum``."""
        self.end()
        done, by = self.epoch, interrupts.by(signum)
        if out and (Path(out) / runs.CHECKPOINT).exists():  # what the folder really holds
            try:
                done = (checkpoint.read(Path(out) / runs.CHECKPOINT).training or {}).get(
                    "epoch", done)
            except checkpoint.CheckpointError:  # replaced while it trained: say what we know
                pass
        saved = "nothing was saved" + ("" if out else " (no --out)")
        if done and done == self.planned:
            where = (f"all {done} epochs are in {out}: see the summary and figure with: "
                     f"d2lrnn report {out}" if out else saved)
            interrupts.tell(f"\ninterrupted{by} after training ended; {where}")
        else:
            where = (f"the checkpoint of epoch {done} is in {out}; resume with: "
                     f"{self.command} --resume {out}" if out and done else saved)
            interrupts.tell(f"\ninterrupted in epoch {done + 1}{by}; {where}")
        interrupts.answered()
        return interrupts.exit_code(signum)
