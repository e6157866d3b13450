"""Checkpoints: every parameter, the vocabulary and the hyperparameters in one safetensors
file, portable across backends, written atomically."""
import json
from pathlib import Path

import numpy as np

from ._files import atomic_write
from .vocab import Vocab

FORMAT = "d2lrnn-checkpoint-1"
EXTENSION = ".safetensors"


def save(path, params, vocab, hparams, training=None):
    """Write ``params`` (NumPy arrays by name), the vocabulary, ``hparams`` (a JSON-able
    dict) and, during training, the ``training`` state (epoch and step counters, history:
    what resuming needs) to ``path``. A partial write never replaces an existing file, and
    non-finite parameters are never written."""
    from safetensors.numpy import save as to_bytes

    bad = sorted(k for k, v in params.items() if not np.isfinite(v).all())
    if bad:
        raise CheckpointError(f"not writing {path}: {', '.join(bad)} hold NaN or infinite "
                              f"values (training diverged)")
    metadata = {"format": FORMAT, "vocab": json.dumps(vocab.idx_to_token),
                "hparams": json.dumps(hparams)}
    if training is not None:
        metadata["training"] = json.dumps(training)
    data = to_bytes({k: np.ascontiguousarray(v) for k, v in params.items()}, metadata=metadata)
    atomic_write(path, data)


class CheckpointError(ValueError):
    """A file that is not a readable d2lrnn checkpoint."""


def load(path):
    """(params, vocab, hparams) from a checkpoint written by :func:`save`."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        with safe_open(str(path), framework="numpy") as f:
            metadata = f.metadata() or {}
            params = {name: f.get_tensor(name) for name in f.keys()}
    except (SafetensorError, OSError, ValueError) as err:
        raise CheckpointError(f"{path} is not a readable safetensors file ({err})") from err
    if metadata.get("format") != FORMAT:
        raise CheckpointError(f"{path} is a safetensors file but not a d2lrnn checkpoint "
                              f"(format {metadata.get('format')!r}, expected {FORMAT!r})")
    bad = sorted(k for k, v in params.items() if not np.isfinite(v).all())
    if bad:
        raise CheckpointError(f"{path} holds NaN or infinite values in {', '.join(bad)}: it "
                              f"comes from a diverged run and cannot be used")
    return params, Vocab.from_tokens(json.loads(metadata["vocab"])), json.loads(
        metadata["hparams"])


def load_training(path):
    """The training state saved with the checkpoint at ``path`` (for resuming), or None
    where it holds none."""
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        metadata = f.metadata() or {}
    return json.loads(metadata["training"]) if "training" in metadata else None
