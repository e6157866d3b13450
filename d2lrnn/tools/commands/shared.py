"""What several commands print or write the same way."""
import math
import sys
from pathlib import Path

from ...base.backend import enable_float64


def float64_where_asked(backends, dtypes):
    """Turn on what float64 needs (JAX's 64-bit mode) before any array exists."""
    if "float64" in dtypes:
        for name in backends:
            enable_float64(name)


def bits(perplexity):
    """Bits per character: log2 of the perplexity (the cross-entropy in base 2)."""
    return math.log2(perplexity)


def perplexities(train_ppl, val_ppl):
    """'train perplexity 6.23 (2.639 bits/char), validation perplexity ...'."""
    return (f"train perplexity {train_ppl:.2f} ({bits(train_ppl):.3f} bits/char), validation "
            f"perplexity {val_ppl:.2f} ({bits(val_ppl):.3f} bits/char)")


def write_figure(folder, history, hparams, wrote=None):
    """perplexity.png of a run into its folder: exit code 0, or 1 with a message saying
    what is kept and how to write it later, where the disk refuses it."""
    from ...base import plot
    from ..runs import CHECKPOINT, FIGURE

    figure = Path(folder) / FIGURE
    try:
        plot.save_figure(plot.perplexity_figure(
            history, f"{hparams['backend']} {hparams['model']}"), figure)
    except OSError as err:
        print(f"d2lrnn: could not write {figure} ({err.strerror or err}); the run itself is "
              f"complete in {Path(folder) / CHECKPOINT}: write the figure later "
              f"with: d2lrnn report {folder}", file=sys.stderr)
        return 1
    print(f"wrote {wrote} and {figure}" if wrote else f"wrote {figure}")
    return 0


def write_loss_figure(folder, result, *, with_checkpoint=True):
    """loss.png of a translator's run into its folder (``with_checkpoint``: the checkpoint
    just written beside it, which the line names): 0, or 1 with a line saying what is kept."""
    from ...base import plot
    from ..runs import CHECKPOINT, TRANSLATE_FIGURE

    figure = Path(folder) / TRANSLATE_FIGURE
    try:
        plot.save_figure(plot.history_figure(result.history, "loss", "loss",
                                             f"{result.hparams['backend']} seq2seq"), figure)
    except OSError as err:
        print(f"d2lrnn: could not write {figure} ({err.strerror or err}); the run itself is "
              f"complete in {Path(folder) / CHECKPOINT}", file=sys.stderr)
        return 1
    print(f"wrote {Path(folder) / CHECKPOINT} and {figure}" if with_checkpoint
          else f"wrote {figure}")
    return 0


def duration(seconds):
    """'42 s', '7.0 min', '3.5 h', '12.0 days'."""
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:.0f} s"


def report_run(record):
    """One line per run of bench or compare, as it ends."""
    what = f"{record['backend']} {record['model']}{' fast' if record.get('fast') else ''}" + (
        f" (beside {record['busy']} busy)" if record.get("busy") else "")
    if "error" in record:
        print(f"  {what}: FAILED: {record['error']}", file=sys.stderr)
    else:
        print(f"  {what}: {record['wall_seconds']:.1f} s, val ppl {record['val_ppl']:.2f}",
              file=sys.stderr)
