"""d2lrnn: the Recurrent Neural Networks section of Dive into Deep Learning in five backends."""
from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).parent
version = {}
exec((here / "d2lrnn" / "_version.py").read_text(), version)

# The numpy pin lives only in the mxnet extra: MXNet 1.9.1 (its last release) uses np.bool,
# removed in numpy 1.24. Everything else works on numpy 2. Neither has a build for Python
# 3.12 or later: there the extra installs nothing (pip would fail building numpy 1.23 from
# source, 137 lines about distutils), and `d2lrnn.mxnet` says in one line what to do.
MXNET_PYTHONS = 'python_version < "3.12"'
extras = {
    "torch": ["torch>=2.2"],
    # optax: the Adam of the book's Seq2Seq (10.7) in JAX (flax depends on it too)
    "jax": ["jax>=0.4.30", "jaxlib>=0.4.30", "flax>=0.8", "optax>=0.1.7"],
    "tensorflow": ["tensorflow>=2.16"],
    "mxnet": [f"mxnet==1.9.1; {MXNET_PYTHONS}", f"numpy>=1.23,<1.24; {MXNET_PYTHONS}"],
    # the NumPy backend's fused kernel (its fast path, and d2lrnn bench's measure of the
    # machine's limit)
    "numba": ["numba>=0.59"],
    "test": ["pytest>=8", "pytest-xdist>=3.5", "jupytext>=1.14", "pytest-examples>=0.0.15",
             "import-linter>=2.1", "ruff>=0.6"],
    # open chapters/ as notebooks: jupytext pairs the .py sources with .ipynb files
    "notebooks": ["jupytext>=1.14", "notebook>=6", "ipywidgets>=8"],  # tqdm's notebook bar
    # the documentation site (`mkdocs serve`, `tox -e docs`): it runs the chapters in a kernel
    # (ipykernel), where tqdm.auto (pooch imports it) warns without ipywidgets; Numba (below)
    # runs the NumPy chapters' full settings in a minute, not several
    "docs": ["mkdocs>=1.6", "mkdocs-material>=9.5", "mkdocstrings[python]>=0.26",
             "mkdocs-jupyter>=0.25", "ipykernel>=6", "ipywidgets>=8"],
}
extras["docs"] += extras["numba"]
extras["all"] = sorted({d for k in ("torch", "jax", "tensorflow") for d in extras[k]})

setup(
    name="d2lrnn",
    version=version["__version__"],
    description=(
        "The Recurrent Neural Networks section of Dive into Deep Learning in NumPy, PyTorch, "
        "JAX, TensorFlow and MXNet, with proof that they compute the same numbers"
    ),
    long_description=(here / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    packages=find_packages(include=["d2lrnn", "d2lrnn.*"]),
    python_requires=">=3.11",  # tested on 3.11, 3.12 and 3.13 (tox.ini); MXNet on 3.11
    # download + hash + cache, progress bars, checkpoints, figures, a run folder's lock, the
    # memory available, the threads of BLAS and OpenMP pools: all small and lazy
    install_requires=["numpy>=1.23", "pooch>=1.6", "tqdm>=4.60", "safetensors>=0.4",
                      "matplotlib>=3.5", "filelock>=3.12", "psutil>=5.9",
                      "threadpoolctl>=3.1"],
    extras_require=extras,
    entry_points={"console_scripts": ["d2lrnn = d2lrnn.tools.entry:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Intended Audience :: Education",
        "Intended Audience :: Science/Research",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
