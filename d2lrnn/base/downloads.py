"""Files from the book's data host, as the book's ``d2l.download`` and ``d2l.extract`` fetch
them (d2l.ai 5.7, "Utility Functions"), on pooch (download, hash check, atomic writes).

Where a file is not in the folder asked for and a verified copy is in this package's cache
(``D2LRNN_DATA``, else the user cache), it is copied from there: a machine without network
that has the corpus still runs the book's cells.
"""
import os
import tarfile
import zipfile
from pathlib import Path

from .errors import BadArgument, UserError
from .files import atomic_write

# The book's data host, with the trailing slash the book's cells add names to.
DATA_URL = "http://d2l-data.s3-accelerate.amazonaws.com/"
# The book's registry of named files: {name: (url, sha1)}; download(name) looks names up here.
DATA_HUB = {}


class DownloadError(UserError, RuntimeError):
    """A file could not be had: the network, the host, or a hash that does not match."""


def cache_dir():
    """This package's cache: ``$D2LRNN_DATA``, else the user cache folder."""
    if os.environ.get("D2LRNN_DATA"):
        return Path(os.environ["D2LRNN_DATA"]).expanduser()
    import pooch

    return Path(pooch.os_cache("d2lrnn"))


def sha1_of(path):
    """The SHA-1 of a file, as hex."""
    import pooch

    return pooch.file_hash(str(path), alg="sha1")


def download(url, folder="../data", sha1_hash=None):
    """The path of the file at ``url`` in ``folder``, downloaded there unless a copy with the
    SHA-1 ``sha1_hash`` is there already (as the book's). ``url`` may also be a name in
    :data:`DATA_HUB`. A copy in the package's cache (:func:`cache_dir`) with that hash is
    copied instead of downloading; a download whose hash does not match is refused."""
    if not str(url).startswith(("http://", "https://")):
        if url not in DATA_HUB:
            raise DownloadError(f"download: {url!r} is neither a URL nor a name in DATA_HUB "
                                f"(known: {', '.join(sorted(DATA_HUB)) or 'none'})")
        url, sha1_hash = DATA_HUB[url]
    folder = Path(folder)
    name = url.rsplit("/", 1)[-1]
    path = folder / name
    if path.is_file() and (sha1_hash is None or sha1_of(path) == sha1_hash):
        return str(path)
    cached = cache_dir() / name
    if sha1_hash and cached.is_file() and cached != path and sha1_of(cached) == sha1_hash:
        atomic_write(path, cached.read_bytes())
        return str(path)
    import pooch

    try:
        return pooch.retrieve(url, known_hash=f"sha1:{sha1_hash}" if sha1_hash else None,
                              fname=name, path=folder, progressbar=False)
    except Exception as err:  # requests' network errors, pooch's hash mismatch (ValueError)
        raise DownloadError(
            f"could not download {url} into {folder} ({type(err).__name__}: {err}). Without "
            f"a network: put {name}{f' (SHA-1 {sha1_hash})' if sha1_hash else ''} in {folder}"
            f" or in the folder named by the environment variable D2LRNN_DATA.") from err


def extract(filename, folder=None):
    """Unpack a .zip, .tar or .tar.gz archive into ``folder`` (default: the archive's
    folder), as the book's; members that would land outside ``folder`` are refused."""
    filename = Path(filename)
    folder = Path(folder) if folder is not None else filename.parent
    if filename.suffix == ".zip":
        with zipfile.ZipFile(filename) as archive:
            _check_members(archive.namelist(), folder, filename)
            archive.extractall(folder)
    elif filename.suffix in (".tar", ".gz", ".tgz"):
        with tarfile.open(filename) as archive:
            _check_members(archive.getnames(), folder, filename)
            # the 'data' filter (Python 3.11.4+, the default from 3.14) also refuses links that
            # point outside and special files
            safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            try:
                archive.extractall(folder, **safe)
            except tarfile.FilterError as err:
                raise BadArgument(f"extract: {filename} holds a member that is unsafe to "
                                  f"unpack ({err}); refused") from err
    else:
        raise BadArgument(f"extract: {filename} is not a .zip, .tar or .tar.gz archive")
    return str(folder)


def _check_members(names, folder, archive):
    root = folder.resolve()
    for name in names:
        target = (folder / name).resolve()
        if root != target and root not in target.parents:
            raise BadArgument(f"extract: {archive} holds {name!r}, which would land outside "
                             f"{folder}; refused")

