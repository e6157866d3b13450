"""Parity: every backend computes the NumPy reference's numbers.

The tolerances live here, once. A difference is relative to the reference's scale:
``max|x - ref| / max|ref|`` over the whole array, which stays meaningful where single
entries are near zero. float32 results are compared with the float64 reference computed on
the same float32-rounded inputs, so the bound measures each framework's own rounding.
"""
import collections
import io

import numpy as np

from ..base.backend import MODEL_KINDS, load_backend
from ..base.files import atomic_write
from ..cells import CELLS, VARIANTS, Network, cell_named
from ..maths import seq2seq
from ..training import fast
from .experiment import build_lm

TOLERANCE = {"float64": 1e-12, "float32": 1e-5}

# Whole training trajectories, float64: each step's loss relative to the reference's over 50
# SGD steps with clipping (rounding differences compound from step to step).
TRAINING_TOLERANCE = 1e-9

# Central differences with step 1e-5 agree with exact gradients to about 1e-10 relative;
# this bound is for checking the reference's hand-written backward pass, not a backend.
FINITE_DIFFERENCE_TOLERANCE = 1e-7

# The fourth-order stencil (f(x-2h) - 8f(x-h) + 8f(x+h) - f(x+2h)) / 12h, h = 1e-3, for the
# encoder-decoder, some of whose gradients are small (a reset gate's: 5e-4): its error is
# float64's rounding, 1.5 eps |loss| / h, under 1e-12 (truncation, h^4: 1e-14), which is 1e-9
# of those; the 2-point stencil's, 5e-11, would be 1e-7 of them, no room for a bound.
FOURTH_ORDER_DIFFERENCE_TOLERANCE = 1e-8

# Small sizes that still exercise every axis: n, T, d, h, V all differ.
SIZES = {"batch_size": 3, "num_steps": 5, "num_inputs": 4, "num_hiddens": 6, "vocab_size": 7}


class Kind(collections.namedtuple("Kind", "model cell layers bidirectional",
                                  defaults=(1, False))):
    """A model of the modern RNN sections in the parity table: scratch or concise, its cell
    (a key of :data:`d2lrnn.cells.VARIANTS`), its wiring."""

    @property
    def name(self):
        """Its rows' name: the wiring, the cell, its variant where the model would not compute
        it unless told ("gru_after", "deep_gru_before_layer"), the framework's layer."""
        cell = VARIANTS[self.cell]
        wiring = "bi_" if self.bidirectional else "deep_" if self.layers > 1 else ""
        told = "" if cell_named(cell.name, self.model) is cell else "_" + "_".join(
            cell.options().values())
        return f"{wiring}{cell.name}{told}{'_layer' if self.model == 'concise' else ''}"

    @property
    def ref(self):
        """The name of the scratch kind it is held to: the same function, the same wiring."""
        return self._replace(model="scratch").name

    def network(self):
        cell = VARIANTS[self.cell]
        if self.bidirectional:
            return Network.bidirectional(cell)
        return Network.layered(cell, self.layers)


# The cell of the section's own quantities (RNNScratch, and the framework's RNN layer on the
# fast path): its kinds are its deep and bidirectional networks, from scratch (the book's
# concise RNN is one layer). It goes three layers deep, every other cell two.
SECTION_CELL = "rnn"


def cell_kinds():
    """{name: Kind} of the modern RNN sections, from the cells' variants
    (:data:`d2lrnn.cells.VARIANTS`): every one from scratch, one layer, deep and
    bidirectional, and on the frameworks' own layers (one and two deep) where a framework has
    a layer for the cell (its concise class); a backend computes the concise kinds its layers
    are declared to compute."""
    kinds = []
    for wiring in ("single", "deep", "bi"):
        for model in MODEL_KINDS:
            for key, cell in VARIANTS.items():
                section = cell.name == SECTION_CELL
                if section and (model == "concise" or wiring == "single") or \
                        model == "concise" and (wiring == "bi" or cell.concise_name is None):
                    continue
                layers = (3 if section else 2) if wiring == "deep" else 1
                kinds.append(Kind(model, key, layers, wiring == "bi"))
    return {kind.name: kind for kind in kinds}


# The modern RNN sections (d2l.ai 10.1-10.4): each model kind's hidden states, loss and
# gradients (all parameters' gradients in one vector, relative to the largest). Scratch
# kinds are references; the frameworks' own layers are held to the function they compute:
# the GRU with the reset gate after the product, or the book's (Keras offers both).
CELL_KINDS = cell_kinds()
_CELL_PARTS = ("states", "loss", "grads")

# The encoder-decoder (d2l.ai 10.7): the package's Seq2Seq (two GRU layers, dropout 0) at
# the reference's parameters, on one batch with pads: its logits, its masked loss and the
# gradient of every parameter (in one vector, by name), by the framework's autograd (NumPy:
# the reference's backward). Every axis differs: batch, source and target steps, the
# vocabularies, the embedding, the hidden units, the layers.
SEQ2SEQ_SIZES = seq2seq.Sizes(src_vocab_size=9, tgt_vocab_size=8, embed_size=4, num_hiddens=7,
                              num_layers=2)
SEQ2SEQ_BATCH = {"batch_size": 3, "src_steps": 5, "tgt_steps": 6}
SEQ2SEQ_PAD = 0
# {kind: the GRU's reset}: the models compute the frameworks' layers' GRU (reset after the
# product) unless told; told, the book's scratch GRU (Keras' layer, or the scratch network).
SEQ2SEQ_KINDS = {"seq2seq": "after", "seq2seq_before": "before"}
SEQ2SEQ_QUANTITIES = tuple(f"{kind}_{part}" for kind in SEQ2SEQ_KINDS
                           for part in ("logits", "loss", "grads"))

QUANTITIES = ("mlp_hidden", "mlp_output", "hidden_states", "final_state", "concat_separate",
              "concat_joined", "logits", "loss", "perplexity", "grad_W_xh", "grad_W_hh",
              "grad_b_h", "grad_W_hq", "grad_b_q",
              *(f"{name}_{part}" for name, kind in CELL_KINDS.items()
                if kind.model == "scratch" for part in _CELL_PARTS),
              *SEQ2SEQ_QUANTITIES)
CELL_LAYER_QUANTITIES = tuple(f"{name}_{part}" for name, kind in CELL_KINDS.items()
                              if kind.model == "concise" for part in _CELL_PARTS)

# The fast path (d2lrnn.training.fast), compiled where the framework compiles, must
# give the same loss and gradients: "fast" for RNNScratch, "fast_layer" for the framework's
# own layer (RNN; NumPy has none, so its table shows no such rows).
_PLAIN = ("loss", "grad_W_xh", "grad_W_hh", "grad_b_h", "grad_W_hq", "grad_b_q")
FAST_QUANTITIES = tuple(f"{kind}_{q}" for kind in ("fast", "fast_layer") for q in _PLAIN)
REFERENCE_OF = {**{q: q for q in QUANTITIES},
                **{f: f.split("_", 2)[-1] if f.startswith("fast_layer") else f[5:]
                   for f in FAST_QUANTITIES},
                **{f"{name}_{part}": f"{kind.ref}_{part}"
                   for name, kind in CELL_KINDS.items() for part in _CELL_PARTS}}


def make_inputs(seed=0):
    """Seeded float64 inputs and weights for every quantity; keys are 'part.name'."""
    rng = np.random.default_rng(seed)
    n, T, d, h, V = (SIZES[k] for k in ("batch_size", "num_steps", "num_inputs",
                                         "num_hiddens", "vocab_size"))

    def normal(*shape, scale=0.5):  # weights large enough that tanh is not linear
        return rng.normal(0.0, scale, shape)

    inputs = {
        "mlp.X": normal(n, d, scale=1.0), "mlp.W_xh": normal(d, h), "mlp.b_h": normal(h),
        "mlp.W_hq": normal(h, V), "mlp.b_q": normal(V),
        "rnn.inputs": normal(T, n, d, scale=1.0), "rnn.state": normal(n, h),
        "rnn.W_xh": normal(d, h), "rnn.W_hh": normal(h, h), "rnn.b_h": normal(h),
        "concat.X": normal(3, 1, scale=1.0), "concat.W_xh": normal(1, 4, scale=1.0),
        "concat.H": normal(3, 4, scale=1.0), "concat.W_hh": normal(4, 4, scale=1.0),
        "lm.X": rng.integers(0, V, (n, T)), "lm.Y": rng.integers(0, V, (n, T)),
        "lm.W_xh": normal(V, h), "lm.W_hh": normal(h, h), "lm.b_h": normal(h),
        "lm.W_hq": normal(h, V), "lm.b_q": normal(V),
    }
    inputs.update(cell_inputs(CELL_KINDS, seed))
    for kind in SEQ2SEQ_KINDS:
        inputs.update(seq2seq_inputs(seed, kind))
    return inputs


def seq2seq_inputs(seed=0, kind="seq2seq"):
    """Seeded inputs of an encoder-decoder kind's rows, from a stream of its own: its float64
    parameters by the shared names, and a batch (src, tgt_in, src_valid_len, label) whose
    sources and labels end in pads (every row keeps at least one real label)."""
    rng = np.random.default_rng([seed, *kind.encode()])
    size, batch = SEQ2SEQ_SIZES, SEQ2SEQ_BATCH
    params = seq2seq.draw_params(seq2seq.param_shapes(*size, reset=SEQ2SEQ_KINDS[kind]), rng)
    n, T_src, T = batch["batch_size"], batch["src_steps"], batch["tgt_steps"]
    src = rng.integers(1, size.src_vocab_size, (n, T_src))
    src_valid_len = rng.integers(2, T_src + 1, n)
    src[np.arange(T_src) >= src_valid_len[:, None]] = SEQ2SEQ_PAD
    label = rng.integers(1, size.tgt_vocab_size, (n, T))
    label[np.arange(T) >= rng.integers(1, T, n)[:, None]] = SEQ2SEQ_PAD
    tgt_in = np.concatenate([rng.integers(1, size.tgt_vocab_size, (n, 1)), label[:, :-1]], 1)
    arrays = {**params, "src": src, "tgt_in": tgt_in, "src_valid_len": src_valid_len,
              "label": label}
    return {f"{kind}.{k}": v for k, v in arrays.items()}


SEQ2SEQ_BATCH_NAMES = ("src", "tgt_in", "src_valid_len", "label")


def seq2seq_model(d2l, dtype="float64", lr=0.005, reset="after"):
    """The package's Seq2Seq of the rows' sizes in backend ``d2l`` (dropout 0)."""
    size, options = SEQ2SEQ_SIZES, {"reset": reset, "dtype": dtype}
    encoder = d2l.Seq2SeqEncoder(size.src_vocab_size, size.embed_size, size.num_hiddens,
                                 size.num_layers, 0, **options)
    decoder = d2l.Seq2SeqDecoder(size.tgt_vocab_size, size.embed_size, size.num_hiddens,
                                 size.num_layers, 0, **options)
    return d2l.Seq2Seq(encoder, decoder, tgt_pad=SEQ2SEQ_PAD, lr=lr)


def seq2seq_rows(d2l, inputs, dtype, with_gradient_loss=False):
    """The encoder-decoder's rows, of every kind: the model's logits and masked loss (its
    forward), the gradients of :meth:`Seq2Seq.loss_and_grads_fn` (and, with
    ``with_gradient_loss``, the loss given with them, "<kind>_gradient_loss": the tests hold
    it to the forward's)."""
    out = {}
    for kind, reset in SEQ2SEQ_KINDS.items():
        rows = _seq2seq_kind(d2l, _part(inputs, kind, dtype), dtype, reset)
        out.update({f"{kind}_{q}": v for q, v in rows.items()
                    if with_gradient_loss or q != "gradient_loss"})
    return out


def _seq2seq_kind(d2l, part, dtype, reset):
    ops = d2l.ops
    model = seq2seq_model(d2l, dtype, reset=reset)
    model.set_params({k: v for k, v in part.items() if k not in SEQ2SEQ_BATCH_NAMES})
    with ops.on(model.device):
        src, tgt_in, valid, label = (ops.asarray(part[k], "int64") for k in SEQ2SEQ_BATCH_NAMES)
        logits = model(src, tgt_in, valid)
        loss = model.loss(logits, label)
        value, grads = model.loss_and_grads_fn(model.book_params, src, tgt_in, valid, label)
    return {"logits": ops.to_numpy(logits), "loss": ops.to_numpy(loss),
            "grads": np.concatenate([ops.to_numpy(grads[k]).ravel() for k in sorted(grads)]),
            "gradient_loss": ops.to_numpy(value)}


def cell_inputs(names, seed=0):
    """Seeded float64 weights of the scratch cell kinds among ``names``, each kind's drawn
    from a stream of its own (the seed and its name): a kind added later (a new cell's)
    leaves the others' as they were."""
    h, V = SIZES["num_hiddens"], SIZES["vocab_size"]
    inputs = {}
    for name in names:
        if CELL_KINDS[name].model != "scratch":
            continue
        rng = np.random.default_rng([seed, *name.encode()])
        network = CELL_KINDS[name].network()
        shapes = {**network.shapes(V, h), "W_hq": (network.num_outputs(h), V), "b_q": (V,)}
        inputs.update({f"{name}.{k}": rng.normal(0.0, 0.5, shape)  # tanh not linear
                       for k, shape in shapes.items()})
    return inputs


def rounded(inputs, dtype):
    """The inputs with every float rounded to ``dtype`` (still stored as float64)."""
    return {k: v.astype(dtype).astype(np.float64) if v.dtype.kind == "f" else v
            for k, v in inputs.items()}


def _part(inputs, prefix, dtype):
    return {k.split(".", 1)[1]: (v.astype(dtype) if v.dtype.kind == "f" else v)
            for k, v in inputs.items() if k.startswith(prefix + ".")}


def compute(backend, inputs, dtype="float64"):
    """Every quantity of :data:`QUANTITIES` computed by ``backend``, as float64 NumPy."""
    d2l = load_backend(backend) if isinstance(backend, str) else backend
    to_np = d2l.ops.to_numpy
    d, h, V = SIZES["num_inputs"], SIZES["num_hiddens"], SIZES["vocab_size"]
    out = {}

    mlp_in = _part(inputs, "mlp", dtype)
    mlp = d2l.MLP(d, h, V, dtype=dtype)
    mlp.set_params({k: v for k, v in mlp_in.items() if k != "X"})
    H, O = mlp(mlp_in["X"])
    out["mlp_hidden"], out["mlp_output"] = to_np(H), to_np(O)

    rnn_in = _part(inputs, "rnn", dtype)
    rnn = d2l.RNNScratch(d, h, dtype=dtype)
    rnn.set_params({k: rnn_in[k] for k in rnn.param_names})
    outputs, state = rnn(rnn_in["inputs"], rnn_in["state"])
    out["hidden_states"] = np.stack([to_np(H_t) for H_t in outputs])
    out["final_state"] = to_np(state)

    cat = d2l.concat_demo(**_part(inputs, "concat", dtype), dtype=dtype)
    out["concat_separate"], out["concat_joined"] = (to_np(cat["separate"]),
                                                    to_np(cat["concatenated"]))

    lm_in = _part(inputs, "lm", dtype)
    lm = d2l.RNNLMScratch(d2l.RNNScratch(V, h, dtype=dtype), V)
    lm.set_params({k: lm_in[k] for k in lm.param_names})
    logits = lm(lm_in["X"])
    out["logits"] = to_np(logits)
    out["loss"] = to_np(lm.loss(logits, lm_in["Y"]))
    out["perplexity"] = np.asarray(lm.perplexity(lm_in["X"], lm_in["Y"]))
    loss, grads = d2l.loss_and_grads(lm, lm_in["X"], lm_in["Y"])
    if not np.isclose(loss, out["loss"], rtol=TOLERANCE[dtype]):
        raise AssertionError(f"{backend}: loss_and_grads's loss {loss} differs from the "
                             f"forward loss {out['loss']}")
    out.update({f"grad_{k}": g for k, g in grads.items()})
    out.update(_fast(d2l, lm_in, h, V, dtype))
    out.update(_cells(d2l, inputs, lm_in, h, V, dtype))
    out.update(seq2seq_rows(d2l, inputs, dtype))
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def _cells(d2l, inputs, lm_in, h, V, dtype):
    """The gated cells' quantities, scratch in every backend, layers where the framework's
    own computes the cell."""
    out = {}
    for name, kind in CELL_KINDS.items():
        if kind.model == "concise" and not d2l.ops.has_cell_layer(VARIANTS[kind.cell]):
            continue
        if kind.bidirectional:
            lm = d2l.RNNLMScratch(d2l.BiRNNScratch(V, h, cell=kind.cell, dtype=dtype), V)
        else:
            lm = build_lm(d2l, kind.model, V, h, dtype, cell=kind.cell, layers=kind.layers)
        lm.set_params(_part(inputs, kind.ref, dtype))
        outputs, _ = lm.rnn(np.eye(V, dtype=dtype)[lm_in["X"].T])
        loss, grads = d2l.loss_and_grads(lm, lm_in["X"], lm_in["Y"])
        out[f"{name}_states"] = np.stack([d2l.ops.to_numpy(H) for H in outputs])
        out[f"{name}_loss"] = np.asarray(loss)
        out[f"{name}_grads"] = np.concatenate([grads[k].ravel() for k in sorted(grads)])
    return out


def _fast(d2l, lm_in, h, V, dtype):
    ops, out = d2l.ops, {}
    kinds = [("fast", d2l.RNNScratch, d2l.RNNLMScratch)]
    if d2l.ops.has_cell_layer(CELLS["rnn"]):
        kinds.append(("fast_layer", d2l.RNN, d2l.RNNLM))
    for kind, rnn_class, lm_class in kinds:
        lm = lm_class(rnn_class(num_inputs=V, num_hiddens=h, dtype=dtype), V)
        lm.set_params({k: lm_in[k] for k in lm.param_names})
        gradients_of = fast.choose(lm).compiled_gradients()
        loss, grads = gradients_of(lm.book_params, ops.asarray(lm_in["X"], "int64"),
                                   ops.asarray(lm_in["Y"], "int64"))
        out[f"{kind}_loss"] = ops.to_numpy(loss)
        out.update({f"{kind}_grad_{k}": ops.to_numpy(g) for k, g in grads.items()})
    return out


def reference(inputs, dtype="float64"):
    """The NumPy reference in float64, on inputs rounded to ``dtype``."""
    return compute("numpy", rounded(inputs, dtype), "float64")


def rel_diff(value, ref):
    """max|value - ref| / max|ref| (the absolute difference where ref is all zeros)."""
    value, ref = np.asarray(value, np.float64), np.asarray(ref, np.float64)
    if value.shape != ref.shape:
        raise ValueError(f"shape {value.shape} differs from the reference's {ref.shape}")
    scale = np.max(np.abs(ref)) if ref.size else 0.0
    diff = np.max(np.abs(value - ref)) if ref.size else 0.0
    return float(diff / scale) if scale > 0 else float(diff)


def compare(results, ref):
    """{quantity: relative difference} of one backend's results against a reference (fast
    quantities against the plain ones: the fast path must give the same numbers)."""
    missing = set(QUANTITIES) - set(results)
    if missing:
        raise KeyError(f"results lack {sorted(missing)}")
    return {q: rel_diff(results[q], ref[REFERENCE_OF[q]])
            for q in QUANTITIES + FAST_QUANTITIES + CELL_LAYER_QUANTITIES if q in results}


def parity_table(backends, dtypes=("float64", "float32"), seed=0, device="cpu",
                 on_progress=None):
    """Rows (backend, dtype, quantity, difference, tolerance) for every backend given, each
    computing on ``device`` ("cpu", "auto", "cuda", ...; see ``Ops.find_device``) with float32
    products at full precision. A backend computing elsewhere than on the CPU is named with
    its device ("torch (cuda:0)"); float64 is left out on a device without it (MPS).
    ``on_progress(message)`` hears what starts next (loading a framework, a column)."""
    say = on_progress or (lambda message: None)
    inputs = make_inputs(seed)
    places = {}
    for backend in backends:
        say(f"loading {backend}")
        ops = load_backend(backend).ops
        places[backend] = ops.find_device(device)
        ops.full_precision()
    rows = []
    for dtype in dtypes:
        ref = reference(inputs, dtype)
        for backend in backends:
            ops, where = load_backend(backend).ops, places[backend]
            if not ops.has_float64(where) and dtype == "float64":
                continue
            say(f"{backend} {dtype}: every quantity against the reference")
            with ops.on(where):
                diffs = compare(compute(backend, rounded(inputs, dtype), dtype), ref)
            name = ops.device_name(where)
            label = backend if name == "cpu" else f"{backend} ({name})"
            rows += [(label, dtype, q, d, TOLERANCE[dtype]) for q, d in diffs.items()]
    return rows


def format_table(rows):
    """The parity table as Markdown: a row per quantity, a column per backend and dtype."""
    columns = list(dict.fromkeys((b, dt) for b, dt, *_ in rows))
    diff = {(b, dt, q): (d, tol) for b, dt, q, d, tol in rows}
    lines = ["| quantity | " + " | ".join(f"{b} {dt}" for b, dt in columns) + " |",
             "|---|" + "---:|" * len(columns)]
    for q in QUANTITIES + FAST_QUANTITIES + CELL_LAYER_QUANTITIES:
        lines.append(f"| {q} | " + " | ".join(f"{diff[b, dt, q][0]:.1e}" if (b, dt, q) in diff
                                              else "—" for b, dt in columns) + " |")
    verdicts = []
    for b, dt in columns:
        ok = all(d <= tol for (b2, dt2, _), (d, tol) in diff.items() if (b2, dt2) == (b, dt))
        verdicts.append(f"{'yes' if ok else 'NO'} (≤ {TOLERANCE[dt]:g})")
    lines.append("| **within bound** | " + " | ".join(verdicts) + " |")
    return "\n".join(lines)


def write_golden(path, seed=0):
    """Save the inputs and the reference's outputs (float64, and float64 on float32-rounded
    inputs) to ``path`` (.npz), atomically, so later numpy versions can be checked against
    them. A file there already is extended, not rewritten: what it holds stays, and the kinds
    it lacks (a new cell's) are added (:func:`completed`)."""
    try:
        inputs, outputs = completed(*read_golden(path), seed)
    except FileNotFoundError:
        inputs = make_inputs(seed)
        outputs = {dtype: {q: v for q, v in reference(inputs, dtype).items()
                           if q in QUANTITIES}  # the fast path is checked against these
                   for dtype in TOLERANCE}
    arrays = {f"input/{k}": v for k, v in inputs.items()}
    for dtype, values in outputs.items():
        arrays.update({f"{dtype}/{q}": v for q, v in values.items()})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write(path, buffer.getvalue())


def read_golden(path):
    """(inputs, {dtype: reference outputs}) from a file written by :func:`write_golden`."""
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    inputs = {k.split("/", 1)[1]: v for k, v in arrays.items() if k.startswith("input/")}
    outputs = {dtype: {k.split("/", 1)[1]: v for k, v in arrays.items()
                       if k.startswith(dtype + "/")} for dtype in TOLERANCE}
    return inputs, outputs


def missing_kinds(inputs):
    """The scratch cell kinds (and the encoder-decoder) whose inputs ``inputs`` (a golden
    file's) lack."""
    held = {key.partition(".")[0] for key in inputs}
    return [name for name in (*(name for name, kind in CELL_KINDS.items()
                                if kind.model == "scratch"), *SEQ2SEQ_KINDS)
            if name not in held]


def completed(inputs, outputs, seed=0):
    """A golden file's inputs and outputs (:func:`read_golden`) with the kinds added since
    it was written (a new cell's): their weights drawn as :func:`make_inputs` draws them,
    their reference computed now; what the file holds stays as it is."""
    missing = missing_kinds(inputs)
    if not missing:
        return inputs, outputs
    inputs = {**inputs, **cell_inputs(set(missing) - set(SEQ2SEQ_KINDS), seed)}
    for kind in set(missing) & set(SEQ2SEQ_KINDS):
        inputs.update(seq2seq_inputs(seed, kind))
    return inputs, {dtype: {**{q: v for q, v in reference(inputs, dtype).items()
                               if q in QUANTITIES}, **outputs[dtype]} for dtype in TOLERANCE}


if __name__ == "__main__":  # python -m d2lrnn.tools.parity PATH: write or extend the golden file
    import sys

    write_golden(sys.argv[1])
