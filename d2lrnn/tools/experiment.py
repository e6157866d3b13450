"""One training run of the character-level language model, as the CLI and benchmarks run it;
and one of the translator of d2l.ai 10.7 (``d2lrnn translate``), with what translates."""
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from ..base.backend import MODEL_KINDS, enable_float64, load_backend
from ..base.errors import BadArgument, BadType, not_one_of
from ..base.files import atomic_write
from ..book.data import MAX_CORPUS_MB, TimeMachine
from ..cells import KEYWORDS, cell_named
from ..maths import seq2seq
from ..training import fast
from ..training.train import fit, package_threads
from . import machine

# The prefixes the book continues.
SAMPLE_PREFIXES = ("it has", "time traveller")
MODELS = MODEL_KINDS


def build_lm(d2l, model, vocab_size, num_hiddens, dtype="float32", seed=0, lr=1.0,
             cell="rnn", layers=1, **options):
    """The scratch or concise language model of backend ``d2l`` on ``cell``, ``layers``
    deep (the book's StackedRNNScratch, or the concise GRU/LSTM(num_layers=...)). ``cell``
    is a cell's name or a variant's key, ``options`` its variant's keyword (a GRU's
    ``reset``): see :func:`d2lrnn.cells.cell_named` (a GRU's defaults to the book's "before"
    from scratch, the frameworks' "after" concise)."""
    if model not in MODELS:
        raise BadArgument(not_one_of("model", model, MODELS))
    variant = cell_named(cell, model, **options)
    name = variant.scratch_name if model == "scratch" else variant.concise_name
    if name is None:
        raise BadType(f"the {d2l.ops.name} backend has no layer of its own for the {cell} "
                        f"cell (no framework here has one): use the scratch model")
    options = variant.options()
    if layers > 1 and model == "scratch":
        rnn = d2l.StackedRNNScratch(vocab_size, num_hiddens, layers, cell=variant.key,
                                    dtype=dtype, seed=seed)
    elif layers > 1:
        if variant.name == "rnn":
            raise BadArgument("the book's concise RNN is one layer: for layers > 1 use the "
                             "scratch model (StackedRNNScratch) or a concise GRU or LSTM")
        rnn = getattr(d2l, name)(num_inputs=vocab_size, num_hiddens=num_hiddens,
                                 num_layers=layers, dtype=dtype, seed=seed, **options)
    else:
        rnn = getattr(d2l, name)(num_inputs=vocab_size, num_hiddens=num_hiddens, dtype=dtype,
                                 seed=seed, **options)
    return d2l.RNNLMScratch(rnn, vocab_size, lr=lr, seed=seed + 1)


@dataclasses.dataclass
class RunResult:
    """What a training run gives back: the summary the command prints (and ``--json``
    writes), the trained model, its data, the history and the hyperparameters recorded."""

    summary: dict
    model: object
    data: object
    history: dict
    hparams: dict
    fast_path: object = None  # what generates its samples (chosen once, with its training's)


def train_run(settings, *, device="auto", max_corpus_mb=MAX_CORPUS_MB, num_preds=50,
              max_steps=None, on_step=None, on_epoch=None, on_start=None, resume=None,
              on_saved_epoch=None, extra_hparams=None):
    """Train with ``settings`` (:class:`~d2lrnn.training.settings.Settings`) and sample; a
    :class:`RunResult`.

    ``on_saved_epoch(model, data, hparams, state)`` is called after every epoch (to write a
    checkpoint); ``resume=(params, state)`` continues a run from such a checkpoint. The
    model is made and trains on ``device`` (see ``Ops.find_device``), with float32 products
    at full precision; ``on_start(hparams, first_epoch)`` is called before the first step."""
    s = settings
    if s.dtype == "float64":
        enable_float64(s.backend)
    d2l = load_backend(s.backend)
    where = d2l.ops.find_device(device)
    d2l.ops.full_precision()
    data = TimeMachine(s.batch_size, s.num_steps, s.num_train, s.num_val, corpus=s.corpus,
                       whole_book=s.whole_book, seed=s.seed, max_corpus_mb=max_corpus_mb)
    with d2l.ops.on(where):  # the parameters are made there; fit and predict follow them
        lm = build_lm(d2l, s.model, len(data.vocab), s.num_hiddens, s.dtype, s.seed, s.lr,
                      s.cell, layers=s.layers)
    cell = lm.rnn.network.layers[0].cell
    # chosen once: recorded, trained on (unless --plain) and generating the samples
    chosen = fast.choose(lm)
    path = chosen if s.fast else None
    hparams = {**s.as_dict(), "cell_key": cell.key,
               **{keyword: cell.options().get(keyword) for keyword in KEYWORDS},
               "vocab_size": len(data.vocab),
               "corpus": None if s.corpus is None else str(Path(s.corpus).resolve()),
               "corpus_sha1": data.sha1, "device": d2l.ops.device_name(where),
               "strategy": path.by if path else "plain"}
    state = None
    if resume is not None:
        params, state = resume
        lm.set_params(params)
    saver = (None if on_saved_epoch is None else
             lambda epoch_state: on_saved_epoch(lm, data, hparams, epoch_state))
    on_step = package_threads(d2l.ops, hparams["strategy"], on_step)
    hparams["threads"] = d2l.ops.threads()
    hparams["versions"] = versions(s.backend)
    hparams.update(extra_hparams or {})
    if on_start:
        on_start(hparams, state["epoch"] if state else 0)
    start = time.perf_counter()
    history = fit(lm, data, s.epochs, lr=s.lr, clip=s.clip, max_steps=max_steps,
                  on_step=on_step, on_epoch=on_epoch, fast=path, resume=state,
                  on_saved_epoch=saver)
    wall = time.perf_counter() - start
    summary = {
        "backend": s.backend, "model": s.model, "cell": s.cell, "layers": s.layers,
        "fast": s.fast, "device": hparams["device"], "epochs": len(history["epoch"]),
        "dtype": s.dtype, "train_ppl": history["train_ppl"][-1],
        "val_ppl": history["val_ppl"][-1], "seconds": history["train_seconds"],
        "wall_seconds": wall, "tokens_per_s": history["tokens"] / history["train_seconds"],
        "samples": {p: lm.predict(p, num_preds, data.vocab, fast=chosen)
                    for p in SAMPLE_PREFIXES},
    }
    return RunResult(summary, lm, data, history, hparams, chosen)


def write_record(path, result):
    """The run's JSON record, as bench and compare read it (see d2lrnn.tools.bench): its
    summary, peak memory, machine, generation speed, settings and history."""
    import resource

    # ru_maxrss: the process's peak resident memory, in KiB on Linux (bytes on macOS)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak_mb = peak / 2**20 if sys.platform == "darwin" else peak / 2**10
    record = {**result.summary, "peak_mb": peak_mb, "machine": machine.describe(),
              "generate_chars_per_s": generation_speed(result.model, result.data.vocab,
                                                       result.fast_path),
              "settings": {**result.hparams, "corpus_sha1": result.data.sha1},
              "history": result.history}
    atomic_write(path, json.dumps(record).encode())


def versions(backend):
    """{package: version} of what computes a run: d2lrnn, the framework, Numba where loaded."""
    import sys

    from .._version import __version__
    from ..base.backend import DECLARED

    found = {"d2lrnn": __version__}
    for module in (DECLARED[backend].framework, "numba"):
        version = getattr(sys.modules.get(module), "__version__", None)
        if version:
            found[module] = str(version)
    return found


def generation_speed(lm, vocab, path=True, num_preds=1000, prefix=SAMPLE_PREFIXES[1]):
    """Greedy characters per second of ``lm.predict`` on the fast ``path`` (True: its own),
    after one warm-up call (compiling)."""
    lm.predict(prefix, 10, vocab, fast=path)
    start = time.perf_counter()
    lm.predict(prefix, num_preds, vocab, fast=path)
    return num_preds / (time.perf_counter() - start)


# -- the translator of d2l.ai 10.7 (d2lrnn translate) ---------------------------------------

# BLEU's longest n-grams, as the book scores its translations (10.7), and the validation
# pairs a summary shows beside their translations.
BLEU_K = 2
SHOWN_PAIRS = 4


def build_translator(d2l, s, src_size, tgt_size, tgt_pad):
    """The package's Seq2Seq of backend ``d2l`` for settings ``s`` (no dropout), its weights
    drawn from ``s.seed`` (the same in every backend)."""
    encoder = d2l.Seq2SeqEncoder(src_size, s.embed_size, s.num_hiddens, s.layers, 0,
                                 dtype=s.dtype, seed=s.seed)
    decoder = d2l.Seq2SeqDecoder(tgt_size, s.embed_size, s.num_hiddens, s.layers, 0,
                                 dtype=s.dtype, seed=s.seed + 1)
    return d2l.Seq2Seq(encoder, decoder, tgt_pad=tgt_pad, lr=s.lr)


def translation_data(s, max_corpus_mb=MAX_CORPUS_MB):
    """The book's MTFraEng (NumPy arrays) for settings ``s``: its archive in the data folder
    (D2LRNN_DATA), or the pairs of ``s.corpus``."""
    from ..base.downloads import cache_dir
    from ..book.translation import MTFraEng

    return MTFraEng(s.batch_size, s.num_steps, s.num_train, s.num_val, root=cache_dir(),
                    corpus=s.corpus, max_corpus_mb=max_corpus_mb)


def translation_run(s, *, beam=3, device="auto", max_corpus_mb=MAX_CORPUS_MB, on_step=None,
                    on_epoch=None, on_start=None, resume=None, on_saved_epoch=None,
                    extra_hparams=None):
    """Train a translator with :class:`~d2lrnn.training.settings.TranslationSettings` ``s``:
    the book's masked loss and its gradients (:func:`d2lrnn.maths.seq2seq.loss_and_grads`,
    in the backend's arrays), Adam with clipping (:class:`~d2lrnn.training.adam.Adam`),
    the pairs shuffled each epoch by ``(seed, epoch)``, so that a resumed run continues as
    one that never stopped. ``resume``: a :data:`~d2lrnn.training.checkpoint.Translator`.
    ``on_saved_epoch(params, adam, training, (source tokens, target tokens), hparams)`` after
    every epoch (NumPy arrays). Then BLEU
    on the validation pairs, greedy and with a beam of ``beam``. A :class:`RunResult`."""
    from ..training import checkpoint
    from ..training.adam import Adam, AdamState

    if s.dtype == "float64":
        enable_float64(s.backend)
    d2l = load_backend(s.backend)
    ops = d2l.ops
    where = ops.find_device(device)
    ops.full_precision()
    data = translation_data(s, max_corpus_mb)
    if resume is not None and (resume.src_tokens, resume.tgt_tokens) != (
            data.src_vocab.idx_to_token, data.tgt_vocab.idx_to_token):
        raise BadArgument("the pairs give other vocabularies than the run's checkpoint holds: "
                          "the corpus has changed since the run started")
    check_translator_memory(s, len(data.src_vocab), len(data.tgt_vocab))
    pad = data.tgt_vocab["<pad>"]
    adam = Adam(s.lr, clip=s.clip)
    with ops.on(where):
        model = build_translator(d2l, s, len(data.src_vocab), len(data.tgt_vocab), pad)

        def on_device(arrays):
            return {k: ops.asarray(v, s.dtype) for k, v in arrays.items()}
        if resume is None:
            params, history = on_device(model.get_params()), {
                "epoch": [], "train_loss": [], "val_loss": [], "step_loss": [],
                "train_seconds": 0.0}
            state = adam.init(ops, params)
        else:
            params, history = on_device(resume.params), resume.training["history"]
            state = AdamState(resume.adam["step"], on_device(resume.adam["m"]),
                              on_device(resume.adam["v"]))
    hparams = {**s.as_dict(), "model": "seq2seq", "device": ops.device_name(where),
               "versions": versions(s.backend),
               "src_vocab_size": len(data.src_vocab), "tgt_vocab_size": len(data.tgt_vocab),
               **(extra_hparams or {})}
    on_step = package_threads(ops, "plain", on_step)  # the CPU threads d2lrnn train takes
    hparams["threads"] = ops.threads()
    first = len(history["epoch"])
    if on_start:
        on_start(hparams, first)
    arrays = [np.asarray(a) for a in data.arrays]
    val = [ops.asarray(a[s.num_train:], "int64") for a in arrays]

    for epoch in range(first + 1, s.epochs + 1):
        began = time.perf_counter()
        with ops.on(where):
            params, state, losses = translation_epoch(ops, adam, (params, state), arrays, s,
                                                      epoch, pad, history, on_step)
            val_loss = float(ops.to_numpy(seq2seq.loss(ops, params, val, reset="after",
                                                       pad=pad)))
        history["epoch"].append(epoch)
        history["train_loss"].append(float(np.mean(losses)))
        history["val_loss"].append(val_loss)
        history["step_loss"] += losses
        history["train_seconds"] += time.perf_counter() - began
        as_numpy = {k: ops.to_numpy(v) for k, v in params.items()}
        if on_saved_epoch:
            on_saved_epoch(as_numpy, {"step": state.step, **{
                key: {k: ops.to_numpy(v) for k, v in getattr(state, key).items()}
                for key in ("m", "v")}}, {"epoch": epoch, "history": history},
                (data.src_vocab.idx_to_token, data.tgt_vocab.idx_to_token), hparams)
        if on_epoch:
            on_epoch({"epoch": epoch, "train_loss": history["train_loss"][-1],
                      "val_loss": val_loss})
    with ops.on(where):
        model.set_params({k: ops.to_numpy(v) for k, v in params.items()})
    found = checkpoint.Translator(None, data.src_vocab.idx_to_token,
                                  data.tgt_vocab.idx_to_token, hparams, None, None)
    scores, shown = validation_bleu(model, found, [a[s.num_train:] for a in arrays], beam)
    summary = {"backend": s.backend, "device": hparams["device"], "dtype": s.dtype,
               "epochs": len(history["epoch"]), "train_loss": history["train_loss"][-1],
               "val_loss": history["val_loss"][-1], "seconds": history["train_seconds"],
               "beam": beam, **scores, "val_pairs": int(len(arrays[0]) - s.num_train),
               "examples": shown}
    return RunResult(summary, model, data, history, hparams)


def check_translator_memory(s, src_size, tgt_size):
    """Refuse settings ``s`` whose training cannot fit in the memory available, before any
    array is made: the parameters, their gradients and Adam's two moments, and a
    minibatch's activations (each step's gates, states and logits, a few copies of each)."""
    from ..base import checks

    item = np.dtype(s.dtype).itemsize
    params = sum(math.prod(shape) for shape in seq2seq.param_shapes(
        src_size, tgt_size, s.embed_size, s.num_hiddens, s.layers, reset="after").values())
    activations = 6 * s.batch_size * s.num_steps * (tgt_size + 8 * s.layers * s.num_hiddens
                                                    + 2 * s.embed_size)
    checks.fits_in_memory((4 * params + 2 * activations) * item,
                          f"training a translator with --embed-size {s.embed_size}, --hiddens "
                          f"{s.num_hiddens}, --layers {s.layers}, --batch-size {s.batch_size}",
                          "--embed-size, --hiddens, --layers or --batch-size")


def translation_epoch(ops, adam, start, arrays, s, epoch, pad, history, on_step):
    """One pass over the training pairs, shuffled by ``(s.seed, epoch)``, from ``start``
    (parameters, Adam's state): (parameters, state, each step's loss). A non-finite loss or
    gradient norm stops it (:class:`~d2lrnn.training.train.TrainingDiverged`), the
    parameters before that step untouched."""
    from ..training.train import diverged, step_divergence

    (params, state), losses = start, []
    order = np.random.default_rng([s.seed, epoch]).permutation(s.num_train)
    for first in range(0, s.num_train, s.batch_size):
        rows = order[first:first + s.batch_size]
        loss, grads = seq2seq.loss_and_grads(ops, params, [ops.asarray(a[rows], "int64")
                                                           for a in arrays],
                                             reset="after", pad=pad)
        new_params, new_state, norm = adam.step(ops, params, grads, state)
        loss = float(ops.to_numpy(loss))
        what = step_divergence(loss, norm)  # not finite: the LM's rule, written once
        if what:
            raise diverged(what, history, epoch, len(losses) + 1,
                           losses[-1] if losses else None, s.lr, s.clip)
        params, state = new_params, new_state
        losses.append(loss)
        if on_step:
            on_step(len(losses), loss)
    return params, state, losses


def translations(model, tgt_tokens, batch, num_steps, beam):
    """[(greedy translation, beam translation)] of each source row of ``batch``
    (``EncoderDecoder.beam_search``: a beam of 1 is greedy search), as text."""
    eos = tgt_tokens.index("<eos>")
    by_greedy, by_beam = (model.beam_search(batch, num_steps, size, eos=eos)
                          for size in (1, beam))
    return [(_text(g.tokens, tgt_tokens), _text(b.tokens, tgt_tokens))
            for g, b in zip(by_greedy, by_beam)]


def _text(ids, tokens):
    """The sentence of token ``ids``, up to its first ``<eos>`` or ``<pad>``."""
    words = []
    for token in (tokens[int(i)] for i in ids):
        if token in ("<eos>", "<pad>"):
            break
        words.append(token)
    return " ".join(words)


def validation_bleu(model, found, arrays, beam):
    """({"bleu_greedy", "bleu_beam"}: the mean BLEU (k = :data:`BLEU_K`) of the translations
    of the validation pairs ``arrays`` against their labels; the first :data:`SHOWN_PAIRS`
    of them, as dicts of source, reference, greedy and beam)."""
    from ..book.translation import bleu

    src, label = arrays[0], arrays[3]
    pairs = translations(model, found.tgt_tokens, arrays, found.hparams["num_steps"], beam)
    references = [_text(row, found.tgt_tokens) for row in label]
    scores = {f"bleu_{kind}": float(np.mean([bleu(pair[i], reference, BLEU_K)
                                             for pair, reference in zip(pairs, references)]))
              for i, kind in enumerate(("greedy", "beam"))}
    shown = [{"source": _text(row, found.src_tokens), "reference": reference, "greedy": g,
              "beam": b} for row, reference, (g, b) in
             list(zip(src, references, pairs))[:SHOWN_PAIRS]]
    return scores, shown


def load_translator(found, backend=None, device="auto"):
    """The trained model of a translator checkpoint ``found`` in ``backend`` (default: the
    one it trained in) on ``device``."""
    from ..training.settings import TranslationSettings

    s = TranslationSettings.of(found.hparams)
    s = s.replace(backend=backend or s.backend)
    if s.dtype == "float64":
        enable_float64(s.backend)
    d2l = load_backend(s.backend)
    with d2l.ops.on(d2l.ops.find_device(device)):
        model = build_translator(d2l, s, len(found.src_tokens), len(found.tgt_tokens),
                                 found.tgt_tokens.index("<pad>"))
        model.set_params(found.params)
    return model


def sentence_arrays(found, sentences):
    """The arrays (src, tgt, src_valid_len, label) of English ``sentences``, tokenised as the
    book's MTFraEng tokenises its pairs, in the checkpoint's vocabularies; and for each
    sentence, (its words the source vocabulary lacks (they become ``<unk>``), its number of
    words)."""
    from ..base.vocab import Vocab
    from ..book.translation import MTFraEng

    data = MTFraEng.__new__(MTFraEng)  # the book's tokenising, without reading a corpus
    data.num_steps, data.num_train, data.num_val = found.hparams["num_steps"], len(sentences), 0
    data.src_vocab, data.tgt_vocab = (Vocab.from_tokens(tokens) for tokens in (
        found.src_tokens, found.tgt_tokens))
    arrays, _, _ = data._build_arrays("\n".join(f"{sentence}\t." for sentence in sentences),
                                      data.src_vocab, data.tgt_vocab)
    unknown = []
    for sentence in sentences:
        words = [word for word in data._preprocess(sentence).split(" ") if word]
        unknown.append(([word for word in words if word not in data.src_vocab.token_to_idx],
                        len(words)))
    return arrays, unknown
