"""``d2lrnn translate``: the RNN encoder-decoder of d2l.ai 10.7, trained on the English-French
pairs (``translate train``, a run folder as ``d2lrnn train`` writes one), and translating
sentences with it, greedy search and beam search side by side (``translate run``)."""
import json
import sys
from pathlib import Path

from ...base.errors import BadArgument
from ...training import checkpoint
from ...training.settings import TRANSLATION_FIELDS
from .. import options, runs
from ..experiment import BLEU_K, load_translator, sentence_arrays, translations
from .generate import checkpoint_file
from .shared import float64_where_asked, write_loss_figure
from .train import Progress

NAME = "translate"
HELP = "train the RNN encoder-decoder of 10.7 on English-French pairs, and translate with it"
EPILOG = """The pairs: by default the book's fra-eng.zip is downloaded once from the book's
data host, checked against its SHA-1 and kept in the folder named by D2LRNN_DATA (default:
the user cache folder). --corpus FILE trains on a local file of English<TAB>French lines."""


def arguments(parser):
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION",
                                help="train: train a translator; run: translate sentences")
    train = sub.add_parser("train", help="train a translator, its checkpoint written into "
                                          "--out after every epoch",
                           formatter_class=options.HELP)
    options.add_device(train)
    options.add_settings(train, TRANSLATION_FIELDS, TRANSLATION_FIELDS)
    options.add_max_corpus(train)
    options.add_run_folder(train, "loss.png")
    add_beam(train)
    translate = sub.add_parser("run", help="translate English sentences with a trained run",
                               formatter_class=options.HELP)
    translate.add_argument("--run", required=True, type=options.path, dest="run_folder",
                           metavar="DIR",
                           help="a run's folder (d2lrnn translate train --out DIR), or the "
                                "checkpoint.safetensors in it")
    translate.add_argument("sentences", nargs="+", metavar="SENTENCE",
                           help="an English sentence to translate")
    options.add_backend(translate, default=None,
                        help="the framework to compute with (default: the run's)")
    options.add_device(translate)
    add_beam(translate)
    translate.add_argument("--json", action="store_true",
                           help="print the translations as one JSON object on the last line")


def add_beam(parser):
    parser.add_argument("--beam", type=options.whole(1), default=3,
                        help="beam size of the beam search shown beside greedy search "
                             "(d2l.ai 10.8; 1: greedy search)")


def run(args):
    return {"train": train, "run": translate}[args.action](args)


class TranslatorProgress(Progress):
    """The language model's progress bar and Ctrl-C (:class:`~.train.Progress`), showing
    the loss."""

    command = "d2lrnn translate train"

    def step_figures(self, loss):
        return {"loss": f"{loss:.3f}"}

    def epoch_figures(self, record):
        return {"loss": f"{record['train_loss']:.3f}", "val_loss": f"{record['val_loss']:.3f}"}


def train(args):
    out = args.resume or args.out
    if args.resume and args.out and Path(args.out) != Path(args.resume):
        raise BadArgument("--resume DIR continues the run in DIR: drop --out")
    chosen = (options.given_settings(args, args.argv, TRANSLATION_FIELDS) if args.resume
              else {name: getattr(args, name) for name in TRANSLATION_FIELDS})
    progress = TranslatorProgress(args)

    def advice(err):
        kept = out and (Path(out) / runs.CHECKPOINT).exists() and err.epoch > 1
        return (f"the checkpoint of epoch {err.epoch - 1} is in {out}; continue from it with "
                f"a smaller --lr: d2lrnn translate train --resume {out} --lr ..." if kept
                else None)

    result, code = progress.train(out, lambda: runs.train_translator(
        out, overwrite=args.overwrite, resume=bool(args.resume), beam=args.beam,
        device=args.device, max_corpus_mb=args.max_corpus_mb, **progress.callbacks(),
        **chosen), advice)
    if code is not None:
        return code
    if progress.stop:  # asked for after the last step: the run is complete
        return progress.interrupted(out, progress.stop)
    summary = result.summary
    print(f"train loss {summary['train_loss']:.3f}, validation loss {summary['val_loss']:.3f}"
          f" after {summary['epochs']} epochs; {summary['seconds']:.1f} s on "
          f"{summary['device']}")
    print(f"BLEU (k={BLEU_K}) on the {summary['val_pairs']} validation pairs: greedy "
          f"{summary['bleu_greedy']:.3f}, beam {args.beam} {summary['bleu_beam']:.3f}")
    show_table([(e["source"], e["greedy"], e["beam"], e["reference"])
                for e in summary["examples"]], args.beam, reference=True)
    code = write_loss_figure(out, result) if out else 0
    if args.json:
        print(json.dumps({**summary, "folder": str(out) if out else None}))
    return code


def translate(args):
    sentences = [checked_sentence(sentence) for sentence in args.sentences]
    found = checkpoint.read_translator(checkpoint_file(args.run_folder))
    float64_where_asked([args.backend or found.hparams["backend"]], [found.hparams["dtype"]])
    model = load_translator(found, args.backend, args.device)
    arrays, unknown = sentence_arrays(found, sentences)
    for sentence, (words, count) in zip(sentences, unknown):
        if words:
            print(f"d2lrnn: warning: {sentence!r}: " + (
                "none of its words is in the vocabulary of the training pairs: translated "
                "from <unk>s only" if len(words) == count else
                f"{', '.join(map(repr, words))} not in the vocabulary of the training pairs "
                f"(read as <unk>)"), file=sys.stderr)
    pairs = translations(model, found.tgt_tokens, arrays, found.hparams["num_steps"],
                         args.beam)
    show_table([(sentence, g, b) for sentence, (g, b) in zip(sentences, pairs)], args.beam)
    if args.json:
        print(json.dumps({"beam": args.beam, "translations": [
            {"source": sentence, "greedy": g, "beam": b, "unknown": words}
            for sentence, (g, b), (words, _) in zip(sentences, pairs, unknown)]}))
    return 0


def checked_sentence(sentence):
    """A sentence to translate: text with a word, of UTF-8, on one line."""
    try:
        sentence.encode("utf-8")
    except UnicodeEncodeError:
        raise BadArgument(f"the sentence {ascii(sentence)[:60]} holds bytes that are not "
                          f"UTF-8: give it as UTF-8 text") from None
    if not sentence.strip():
        raise BadArgument("an empty sentence: give each sentence to translate as words, "
                          "e.g. \"go .\"")
    if "\t" in sentence or "\n" in sentence or "\r" in sentence:
        raise BadArgument(f"the sentence {sentence[:60]!r} holds a tab or a line break: give "
                          f"each sentence as its own argument")
    return sentence


def show_table(rows, beam, reference=False):
    """Sources and their translations in columns: greedy, beam (and the reference)."""
    heads = ["source", "greedy", f"beam {beam}"] + (["reference"] if reference else [])
    widths = [max(len(str(row[i])) for row in [heads, *rows]) for i in range(len(heads))]
    for row in [heads, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
