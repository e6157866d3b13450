"""How to install an extra of d2lrnn, said the one way every message says it.

d2lrnn is not on the package index, so ``pip install "d2lrnn[torch]"`` names nothing that
exists. A hint installs from where this copy came from instead, as pip recorded it (PEP 610's
``direct_url.json`` of the installed distribution): a folder (a clone) is named by its path, a
wheel or sdist file by its path, another address (``git+https://...``) as a direct reference;
where nothing is recorded (run from a clone without installing, an editable install whose
folder moved), ``pip install ".[extra]"`` run in a clone of d2lrnn.
"""
import json
import os

DISTRIBUTION = "d2lrnn"
IN_A_CLONE = "(in a clone of d2lrnn)"


def installed_from():
    """Where pip installed d2lrnn from: ("folder" | "file", a local path that still exists),
    ("url", a PEP 508 direct reference's address), or (None, None) where unknown."""
    import importlib.metadata  # here, as urllib below: `import d2lrnn` stays light (0.14 s)
    import urllib.parse
    import urllib.request

    try:
        recorded = importlib.metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
        direct = json.loads(recorded) if recorded else {}
    except (importlib.metadata.PackageNotFoundError, ValueError, OSError):
        return None, None
    url = direct.get("url", "") if isinstance(direct, dict) else ""
    if url.startswith("file:"):
        path = urllib.request.url2pathname(urllib.parse.urlparse(url).path)
        if "dir_info" in direct and os.path.isdir(path):
            return "folder", path
        if "archive_info" in direct and os.path.isfile(path):
            return "file", path
        return None, None
    if not url:
        return None, None
    vcs = direct.get("vcs_info", {})
    if vcs.get("vcs"):
        revision = vcs.get("requested_revision")
        url = f"{vcs['vcs']}+{url}" + (f"@{revision}" if revision else "")
    return "url", url


def requirement(extra=""):
    """What ``pip install`` takes for d2lrnn with ``extra`` ("" for none), quoted for a shell,
    and the words that say where to run it ("" where it runs anywhere)."""
    kind, where = installed_from()
    extras = f"[{extra}]" if extra else ""
    if kind in ("folder", "file"):
        return f'"{where}{extras}"', ""
    if kind == "url":
        return f'"{DISTRIBUTION}{extras} @ {where}"', ""
    return f'".{extras}"', IN_A_CLONE


def pip_install(extra="", pip="pip"):
    """The command that installs d2lrnn's ``extra`` into the environment whose ``pip`` it
    runs: ``pip install "/home/me/d2lrnn[torch]"``, or ``pip install ".[torch]" (in a clone of
    d2lrnn)`` where the source is unknown."""
    spec, where = requirement(extra)
    return f"{pip} install {spec}" + (f" {where}" if where else "")


def venv_install(extra, python="python3.11", venv=None):
    """The commands that make a virtual environment of its own for ``extra`` (named after it)
    with ``python`` and install d2lrnn's ``extra`` there."""
    venv = venv or f"d2lrnn-{extra}"
    return f"{python} -m venv {venv} && " + pip_install(extra, pip=f"{venv}/bin/pip")
