"""Files from the book's data host, as the book's ``d2l.download`` and ``d2l.extract`` fetch
them (d2l.ai 5.7, "Utility Functions"), on pooch (download, hash check, atomic writes).

Where a file is not in the folder asked for and a verified copy is in this package's cache
(``D2LRNN_DATA``, else the user cache), it is copied from there: a machine without network
that has the corpus still runs the book's cells.

Archives are checked before anything is written: a regular file, in its format, every member
inside the folder, and what it unpacks to within :data:`MAX_UNPACKED_BYTES` and
:data:`MAX_RATIO` times its size. They are unpacked into a temporary folder beside the
target and moved into place when whole: a full disk or a damaged member leaves nothing.
"""
import gzip
import os
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from pathlib import Path, PureWindowsPath

from . import checks
from .errors import BadArgument, UserError
from .files import atomic_write, is_disk_full

# The book's data host, with the trailing slash the book's cells add names to.
DATA_URL = "http://d2l-data.s3-accelerate.amazonaws.com/"
# The book's registry of named files: {name: (url, sha1)}; download(name) looks names up here.
# The book's entries that its recurrent chapters read: the English-French pairs of 10.5-10.7.
DATA_HUB = {"fra-eng": (DATA_URL + "fra-eng.zip", "94646ad1522d915e7b0f9296181140edcf86a4f5")}

# What an archive may unpack to: at most MAX_RATIO times its own size (but 64 MB in any case:
# a small archive of repetitive text compresses far better than a large one), and never more
# than MAX_UNPACKED_BYTES. The book's archives unpack to a few times their size (text compresses
# 3-5x), the largest to about 1 GB; a zip bomb to a thousand times its size. extract's
# max_bytes= and max_ratio= raise the bounds for an archive one trusts.
MAX_UNPACKED_BYTES = 4 * 2**30
MAX_RATIO = 100
RATIO_FLOOR = 64 * 2**20
_STAGING = ".d2lrnn-extract-"  # the temporary folder an archive is unpacked into first


class DownloadError(UserError, RuntimeError):
    """A file could not be had: the network, the host, or a hash that does not match."""


class ArchiveError(BadArgument):
    """An archive that is damaged, unsafe or too large to unpack, or no room to unpack it."""


def cache_dir():
    """This package's cache: ``$D2LRNN_DATA``, else the user cache folder."""
    if os.environ.get("D2LRNN_DATA"):
        return Path(os.environ["D2LRNN_DATA"]).expanduser()
    import pooch

    return Path(pooch.os_cache("d2lrnn"))


def sha1_of(path, what="file", error=DownloadError):
    """The SHA-1 of a file, as hex; a path that is not a regular file (a pipe or a device,
    whose reading would never end) raises ``error`` naming ``what``: move it away."""
    import pooch

    checks.regular_file(path, what, error=error,
                        advice="move it away (a good copy is then fetched or asked for)")
    return pooch.file_hash(str(path), alg="sha1")


def _no_space(folder, what, err):
    return (f"the disk holding {folder} is full ({err.strerror or err}): {what}; nothing "
            f"partial was left. Free some space, or choose a folder on another disk")


def download(url, folder="../data", sha1_hash=None):
    """The path of the file at ``url`` in ``folder``, downloaded there unless a copy with the
    SHA-1 ``sha1_hash`` is there already (as the book's). ``url`` may also be a name in
    :data:`DATA_HUB`. A copy in the package's cache (:func:`cache_dir`) with that hash is
    copied instead of downloading; a download whose hash does not match is refused, and so
    is a file in ``folder`` with another hash (never overwritten: the book's would be)."""
    if not str(url).startswith(("http://", "https://")):
        if url not in DATA_HUB:
            raise DownloadError(f"download: {url!r} is neither a URL nor a name in DATA_HUB "
                                f"(known: {', '.join(sorted(DATA_HUB)) or 'none'})")
        url, sha1_hash = DATA_HUB[url]
    found = local_copy(url, folder, sha1_hash)
    if found is not None:
        return found
    folder = Path(folder)
    name = url.rsplit("/", 1)[-1]
    if (folder / name).exists():  # with another hash: another file, or a damaged one
        raise DownloadError(
            f"{folder / name} has SHA-1 {sha1_of(folder / name)}, not {sha1_hash}: it is not "
            f"the file of {url}, or it is damaged. It was left as it is: move it away, and a "
            f"fresh copy is downloaded (without a network: "
            f"{_without_network(folder, name, sha1_hash)})")
    import pooch

    try:
        return pooch.retrieve(url, known_hash=f"sha1:{sha1_hash}" if sha1_hash else None,
                              fname=name, path=folder, progressbar=False)
    except OSError as err:
        if not is_disk_full(err):
            raise _unreachable(url, folder, name, sha1_hash, err) from err
        raise DownloadError(_no_space(folder, f"{url} could not be downloaded there",
                                      err)) from None
    except Exception as err:  # requests' network errors, pooch's hash mismatch (ValueError)
        raise _unreachable(url, folder, name, sha1_hash, err) from err


def local_copy(url, folder, sha1_hash=None):
    """The path of the file of ``url`` in ``folder`` where a copy is had without the network:
    there already (with the SHA-1 ``sha1_hash``, where given), or copied there from the
    package's cache (:func:`cache_dir`), where a copy with that hash is; else None."""
    folder = Path(folder)
    name = url.rsplit("/", 1)[-1]
    path = folder / name
    if path.exists() and (sha1_hash is None or
                          sha1_of(path, "earlier download") == sha1_hash):
        return str(path)
    cached = cache_dir() / name
    if sha1_hash and cached != path and cached.exists() and \
            sha1_of(cached, "cached copy") == sha1_hash:
        try:
            atomic_write(path, cached.read_bytes())
        except OSError as err:
            if not is_disk_full(err):
                raise
            raise DownloadError(_no_space(folder, f"{name} could not be copied there from "
                                                  f"{cached}", err)) from None
        return str(path)
    return None


def _without_network(folder, name, sha1_hash):
    return (f"put {name}{f' (SHA-1 {sha1_hash})' if sha1_hash else ''} in {folder} or in "
            f"the folder named by the environment variable D2LRNN_DATA")


def _unreachable(url, folder, name, sha1_hash, err):
    return DownloadError(
        f"could not download {url} into {folder} ({type(err).__name__}: {err}). Without "
        f"a network: {_without_network(folder, name, sha1_hash)}.")


def extract(filename, folder=None, *, max_bytes=MAX_UNPACKED_BYTES, max_ratio=MAX_RATIO):
    """Unpack a .zip, .tar or .tar.gz archive into ``folder`` (default: the archive's
    folder), as the book's; members that would land outside ``folder`` are refused, and so
    is an archive that unpacks to more than ``max_bytes`` bytes, or to more than
    ``max_ratio`` times its own size (beyond 64 MB): raise them for an archive you trust."""
    filename = Path(filename)
    folder = Path(folder) if folder is not None else filename.parent
    if filename.suffix == ".zip":
        kind, open_archive = "zip", _ZipArchive
    elif filename.suffix in (".tar", ".gz", ".tgz"):
        kind, open_archive = "tar", _TarArchive
    else:
        raise ArchiveError(f"extract: {filename} is not a .zip, .tar or .tar.gz archive")
    size = checks.regular_file(filename, "archive", error=ArchiveError)
    try:
        with open_archive(filename) as archive:
            members = archive.members()
            _check_members([name for name, _ in members], folder, filename)
            unpacked = sum(length for _, length in members)
            _check_size(filename, size, unpacked, max_bytes, max_ratio)
            _unpack(archive, filename, folder, unpacked)
    except _DAMAGED as err:
        raise ArchiveError(_damaged(filename, kind, err)) from None
    return str(folder)


class _Archive:
    """An archive of one format, open: its members as (name, bytes), and unpacking them."""

    def __init__(self, filename):
        self.archive = self.open(filename)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.archive.close()


class _ZipArchive(_Archive):
    open = staticmethod(zipfile.ZipFile)

    def members(self):
        infos = self.archive.infolist()
        locked = [info.filename for info in infos if info.flag_bits & 0x1]
        if locked:
            raise ArchiveError(f"extract: {self.archive.filename} holds encrypted members "
                               f"({locked[0]!r}...); unpack it with its password yourself")
        return [(info.filename, info.file_size) for info in infos]

    def unpack_into(self, folder):
        self.archive.extractall(folder)


class _TarArchive(_Archive):
    open = staticmethod(tarfile.open)

    def members(self):
        return [(info.name, info.size if info.isfile() else 0)
                for info in self.archive.getmembers()]

    def unpack_into(self, folder):
        # the 'data' filter (Python 3.11.4+, the default from 3.14) also refuses links that
        # point outside and special files
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        try:
            self.archive.extractall(folder, **safe)
        except tarfile.FilterError as err:
            raise ArchiveError(f"extract: {self.archive.name} holds a member that is unsafe "
                               f"to unpack ({err}); refused") from err


# What the formats' readers raise for a file that is not what its name says, or whose data is
# damaged or cut short (BadGzipFile is an OSError; NotImplementedError: a zip's unknown method).
_DAMAGED = (zipfile.BadZipFile, tarfile.ReadError, tarfile.CompressionError, zlib.error,
            EOFError, gzip.BadGzipFile, NotImplementedError)


def _damaged(filename, kind, err):
    if kind == "tar" and filename.suffix in (".gz", ".tgz") and _gzip_of_one_file(filename):
        return (f"extract: {filename} is gzip-compressed, but what it holds is not a tar "
                f"archive; extract unpacks .zip, .tar and .tar.gz: decompress one file with "
                f"gzip -d (or Python's gzip module)")
    return (f"extract: {filename} is not a {kind} archive, or it is damaged or cut short "
            f"({type(err).__name__}: {err}); download it again")


def _gzip_of_one_file(filename):
    """Whether ``filename`` is gzip whose content does not begin with a tar header."""
    try:
        with gzip.open(filename) as f:
            block = f.read(tarfile.BLOCKSIZE)
    except (OSError, EOFError):
        return False
    try:
        tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
    except tarfile.HeaderError:
        return True
    return False


def _check_members(names, folder, archive):
    root = folder.resolve()
    for name in names:
        what = None
        if name.startswith(("/", "\\")) or PureWindowsPath(name).drive:
            what = "an absolute member name"
        elif not name.strip("/"):
            what = "a member with an empty name"
        elif "\x00" in name:
            what = "a member name holding a NUL character"
        elif root not in [(folder / name).resolve(), *(folder / name).resolve().parents]:
            what = "a member that would land outside the folder"
        if what:
            raise ArchiveError(f"extract: {archive} holds {what} ({name!r}); refused: "
                               f"every member must land inside {folder}")


def _check_size(filename, size, unpacked, max_bytes, max_ratio):
    mb = _megabytes
    if unpacked > max_bytes:
        raise ArchiveError(f"extract: {filename} unpacks to {mb(unpacked)}, more than the "
                           f"{mb(max_bytes)} extract allows; if you trust it, raise the limit "
                           f"with extract(..., max_bytes=...)")
    if unpacked > max(RATIO_FLOOR, max_ratio * size):
        raise ArchiveError(f"extract: {filename} unpacks to {mb(unpacked)} from {mb(size)}, "
                           f"{unpacked / max(size, 1):,.0f} times its size (a zip bomb?); "
                           f"extract allows {max_ratio:g} times: if you trust it, raise the "
                           f"limit with extract(..., max_ratio=...)")


def _megabytes(size):
    return f"{size / 2**20:,.1f} MB"


def _unpack(archive, filename, folder, unpacked):
    """Unpack into a temporary folder inside ``folder``, then move every file into place."""
    folder.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(folder).free
    if unpacked > free:
        raise ArchiveError(f"extract: {filename} unpacks to {_megabytes(unpacked)}, and the "
                           f"disk holding {folder} has {_megabytes(free)} free; free some "
                           f"space or unpack it into a folder on another disk")
    staging = Path(tempfile.mkdtemp(prefix=_STAGING, dir=folder))
    try:
        archive.unpack_into(staging)
        _move_into(staging, folder)
    except OSError as err:
        if not is_disk_full(err):
            raise
        what = f"{filename} could not be unpacked"
        raise ArchiveError(f"extract: {_no_space(folder, what, err)}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _move_into(staging, folder):
    for top, folders, names in os.walk(staging):
        relative = Path(top).relative_to(staging)
        links = [name for name in folders if (Path(top) / name).is_symlink()]
        folders[:] = [name for name in folders if name not in links]
        try:
            for name in folders:
                if not (folder / relative / name).is_dir():
                    (folder / relative / name).mkdir()
            for name in [*names, *links]:
                os.replace(Path(top) / name, folder / relative / name)
        except (FileExistsError, IsADirectoryError, NotADirectoryError,
                PermissionError) as err:
            raise ArchiveError(f"extract: cannot put {err.filename2 or err.filename} in place "
                               f"({err.strerror}); move what is there away") from None
