"""The book's ``download`` and ``extract`` with what a user may have on disk or be sent: a pipe
where a file should be, damaged or hostile archives, archives that unpack far beyond their size,
a full disk. Each is one clear error (a user error, in one line) that leaves nothing partial."""
import errno
import io
import os
import struct
import subprocess
import sys
import tarfile
import zipfile

import pytest

from d2lrnn.base import downloads
from d2lrnn.base.errors import UserError

URL = downloads.DATA_URL + "story.txt"


def run_python(code, *args, env=None):
    """``code`` in a fresh interpreter (a limit set there, or a read that could hang)."""
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})


def one_line(err):
    assert isinstance(err, UserError)
    assert len(str(err).splitlines()) == 1, str(err)
    return str(err)


# -- what is read is a regular file ------------------------------------------------------------

DOWNLOAD = """
import sys
from d2lrnn.base import downloads
try:
    print(downloads.download(downloads.DATA_URL + "story.txt", sys.argv[1], "0" * 40))
except downloads.DownloadError as err:
    print(err)
    sys.exit(2)
"""


def test_a_pipe_where_the_download_would_be_is_refused_without_hanging(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    os.mkfifo(folder / "story.txt")
    result = run_python(DOWNLOAD, folder)
    assert result.returncode == 2, result.stderr
    assert "named pipe" in result.stdout and "move it away" in result.stdout


def test_a_pipe_in_the_cache_is_refused_without_hanging(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    os.mkfifo(cache / "story.txt")
    result = run_python(DOWNLOAD, tmp_path / "data", env={"D2LRNN_DATA": str(cache)})
    assert result.returncode == 2, result.stderr
    assert f"cached copy {cache / 'story.txt'} is a named pipe" in result.stdout


def test_hashing_a_device_is_refused_without_hanging():
    result = run_python("from d2lrnn.base import downloads\n"
                        "try:\n    downloads.sha1_of('/dev/zero')\n"
                        "except downloads.DownloadError as err:\n    print(err)\n")
    assert result.stdout.strip() == ("the file /dev/zero is a character device, not a regular "
                                     "file; expected a file: move it away (a good copy is then "
                                     "fetched or asked for)"), result.stderr


# -- a full disk leaves nothing partial -------------------------------------------------------

# A file-size limit a process may set without root (EFBIG beyond it, as ENOSPC on a full disk).
SMALL_DISK = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (2**20, 2**20))
from d2lrnn.base import downloads
from d2lrnn.base.errors import UserError
try:
    {call}
except UserError as err:
    print(err)
    sys.exit(2)
"""


def test_extracting_onto_a_full_disk_leaves_nothing(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("first.txt", "fits")
        z.writestr("second.bin", os.urandom(2 * 2**20))  # beyond the limit
    out = tmp_path / "out"
    result = run_python(SMALL_DISK.format(call="downloads.extract(sys.argv[1], sys.argv[2])"),
                        archive, out)
    lines = result.stdout.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stdout + result.stderr
    assert "is full" in lines[0] and str(archive) in lines[0]
    assert not list(out.iterdir())  # not the first member, not half the second


def test_a_copy_from_the_cache_onto_a_full_disk_leaves_nothing(tmp_path):
    cache, folder = tmp_path / "cache", tmp_path / "data"
    cache.mkdir()
    folder.mkdir()
    content = os.urandom(2 * 2**20)
    (cache / "story.txt").write_bytes(content)
    digest = __import__("hashlib").sha1(content).hexdigest()
    call = f"downloads.download(downloads.DATA_URL + 'story.txt', sys.argv[1], {digest!r})"
    result = run_python(SMALL_DISK.format(call=call), folder, env={"D2LRNN_DATA": str(cache)})
    assert result.returncode == 2, result.stdout + result.stderr
    assert "is full" in result.stdout and "nothing partial" in result.stdout
    assert not list(folder.iterdir())


def test_a_download_onto_a_full_disk_says_so(tmp_path, monkeypatch):
    import pooch

    def full(*args, **kwargs):  # pooch writes to a temporary file and removes it on failure
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pooch, "retrieve", full)
    monkeypatch.setenv("D2LRNN_DATA", str(tmp_path / "cache"))
    with pytest.raises(downloads.DownloadError, match="is full") as info:
        downloads.download(URL, str(tmp_path / "data"), "0" * 40)
    assert "network" not in one_line(info.value)


# -- archives: bounded, and damaged or hostile ones refused in one line ------------------------


def test_an_archive_that_unpacks_far_beyond_its_size_is_refused(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("zeros.bin", bytes(100 * 2**20))
    assert bomb.stat().st_size < 2**20  # 100 MB from about 0.1 MB
    with pytest.raises(downloads.ArchiveError, match="times its size") as info:
        downloads.extract(bomb, tmp_path / "out")
    assert "max_ratio" in one_line(info.value)
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_the_size_limit_can_be_raised_for_an_archive_one_trusts(tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("noise.bin", os.urandom(2**20))
    with pytest.raises(downloads.ArchiveError, match="max_bytes") as info:
        downloads.extract(archive, tmp_path / "out", max_bytes=2**19)
    one_line(info.value)
    downloads.extract(archive, tmp_path / "out")
    assert (tmp_path / "out" / "noise.bin").stat().st_size == 2**20


def zip_with_an_empty_name(path):
    """A zip whose one member's name is empty (zipfile cannot write one: the name is cut)."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("X", "x")
    data = bytearray(path.read_bytes())
    for signature in (b"PK\x03\x04", b"PK\x01\x02"):  # local header, central directory
        start = data.index(signature)
        length = start + (26 if signature == b"PK\x03\x04" else 28)
        name = start + (30 if signature == b"PK\x03\x04" else 46)
        struct.pack_into("<H", data, length, 0)
        del data[name]
    end = data.index(b"PK\x05\x06")  # the central directory moved back by one byte
    size, offset = struct.unpack_from("<II", data, end + 12)
    struct.pack_into("<II", data, end + 12, size - 1, offset - 1)
    path.write_bytes(bytes(data))
    return path


def tar_with(path, name, content=b"x"):
    with tarfile.open(path, "w") as t:
        info = tarfile.TarInfo(name)
        info.size = len(content)
        t.addfile(info, io.BytesIO(content))
    return path


def zip_with(path, name, content="x"):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(name, content)
    return path


def damaged_zip(path):
    path.write_bytes(b"PK\x03\x04" + b"not a zip" * 20)
    return path


def zip_failing_its_crc(path):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("first.txt", "whole")
        z.writestr("second.txt", "the time traveller " * 50)
    data = bytearray(path.read_bytes())
    at = data.index(b"the time traveller")
    data[at:at + 3] = b"THE"  # stored, not compressed: the CRC no longer matches
    path.write_bytes(bytes(data))
    return path


def gzip_of_one_file(path):
    import gzip

    with gzip.open(path, "wb") as f:
        f.write(b"the time traveller\n" * 100)
    return path


def cut_short(path):
    with tarfile.open(path, "w:gz") as t:
        for name in ("first.txt", "second.bin"):
            content = os.urandom(100_000)
            info = tarfile.TarInfo(name)
            info.size = len(content)
            t.addfile(info, io.BytesIO(content))
    path.write_bytes(path.read_bytes()[:150_000])  # the second member is cut
    return path


HOSTILE = {  # name: (how to make it, words of the message)
    "an empty member name in a zip": (lambda p: zip_with_an_empty_name(p / "a.zip"),
                                      "empty name"),
    "an empty member name in a tar": (lambda p: tar_with(p / "a.tar", ""), "empty name"),
    "an absolute member name in a zip": (lambda p: zip_with(p / "a.zip", "/tmp/abs.txt"),
                                         "absolute member name"),
    "an absolute member name in a tar": (lambda p: tar_with(p / "a.tar", "/tmp/abs.txt"),
                                         "absolute member name"),
    "a damaged zip": (lambda p: damaged_zip(p / "a.zip"), "not a zip archive"),
    "a zip failing its CRC": (lambda p: zip_failing_its_crc(p / "a.zip"), "damaged"),
    "a .gz that is not a tar": (lambda p: gzip_of_one_file(p / "a.gz"),
                                "not a tar archive"),
    "a .tar.gz cut short": (lambda p: cut_short(p / "a.tar.gz"), "cut short"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_a_hostile_or_damaged_archive_is_one_line_and_leaves_nothing(tmp_path, name):
    make, words = HOSTILE[name]
    archive = make(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(downloads.ArchiveError) as info:
        downloads.extract(archive, out)
    message = one_line(info.value)
    assert words in message and str(archive) in message, message
    assert not out.exists() or not list(out.iterdir())
    assert not (tmp_path / "tmp" / "abs.txt").exists()


def test_a_file_of_another_hash_is_never_overwritten_even_with_a_network(tmp_path,
                                                                           monkeypatch):
    import pooch

    content = b"the right file\n"
    fetched = []

    def network(url, known_hash, fname, path, **kwargs):  # a download that would succeed
        fetched.append(url)
        (tmp_path / "data" / fname).write_bytes(content)
        return str(tmp_path / "data" / fname)

    monkeypatch.setattr(pooch, "retrieve", network)
    monkeypatch.setenv("D2LRNN_DATA", str(tmp_path / "cache"))
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "story.txt").write_bytes(b"a reader's own file")
    digest = __import__("hashlib").sha1(content).hexdigest()
    with pytest.raises(downloads.DownloadError, match="story.txt has SHA-1 .* move it away") \
            as info:
        downloads.download(URL, str(tmp_path / "data"), digest)
    one_line(info.value)
    assert (tmp_path / "data" / "story.txt").read_bytes() == b"a reader's own file"
    assert not fetched
