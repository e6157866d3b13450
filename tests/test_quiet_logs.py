"""TensorFlow's start-up notices, which its C++ writes to descriptor 2 before its logging
starts, are dropped (d2lrnn.base.quiet) and every other line forwarded, by our commands and
by `from d2lrnn import tensorflow`. Checked here on lines written the same way (os.write to
descriptor 2, C's write and abort), so that it holds in every env; the tensorflow envs check
the real command and the real import in test_imports.py."""
import importlib.util
import os
import subprocess
import sys

import pytest

from d2lrnn.base import quiet

NOTICES = [b"WARNING: All log messages before absl::InitializeLog() is called are written to "
           b"STDERR\n",
           b"I0000 00:00:1796425505.865357    3478 port.cc:153] oneDNN custom operations are on.\n",
           b"W1204 12:00:00.000000    3478 cpu_feature_guard.cc:210] This TensorFlow binary ...\n"]
KEPT = [b"E0000 00:00:1796425558.198756    3748 some_op.cc:52] a real error\n",
        b"Traceback (most recent call last): a Python error, written by Python\n",
        b"INFO is not a log line of absl's\n"]


def test_notices_are_dropped_and_the_rest_forwarded(capfd):
    with quiet.notices_dropped():
        for line in [NOTICES[0], KEPT[0], NOTICES[1], KEPT[1], NOTICES[2], KEPT[2]]:
            os.write(2, line)
    assert capfd.readouterr().err.encode() == b"".join(KEPT)
    os.write(2, NOTICES[1])  # outside the block, descriptor 2 is the real one again
    assert capfd.readouterr().err.encode() == NOTICES[1]


def test_the_no_driver_error_is_dropped_only_when_asked(capfd):
    error = b"E0000 00:00:1796425558.1 3748 cuda_platform.cc:52] failed call to cuInit: x\n"
    with quiet.notices_dropped():
        os.write(2, error)
    with quiet.notices_dropped(quiet.NO_DRIVER):
        os.write(2, error)
        os.write(2, KEPT[0])
    assert capfd.readouterr().err.encode() == error + KEPT[0]


def test_a_module_imports_quietly_and_keeps_its_loader(tmp_path, monkeypatch, capfd):
    name = "d2lrnn_noisy_framework"
    (tmp_path / f"{name}.py").write_text(
        "import os\n"
        f"os.write(2, {NOTICES[1]!r})\n"
        f"os.write(2, {KEPT[0]!r})\n"
        "VALUE = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    seen = []
    quiet.quiet_imports({name: seen.append})  # what follows the import, given the module
    # a look first (is_installed, other libraries: torch looks for tensorflow) imports nothing
    assert importlib.util.find_spec(name) is not None and seen == []
    module = __import__(name)
    assert module.VALUE == 42 and seen == [module]
    assert capfd.readouterr().err.encode() == KEPT[0]
    assert not isinstance(module.__loader__, quiet.QuietLoader)
    assert module.__spec__.loader is module.__loader__
    assert not any(isinstance(f, quiet.QuietImport) for f in sys.meta_path)  # done, gone


def run_script(tmp_path, code, timeout=120):
    script = tmp_path / "script.py"
    script.write_text(code)
    return subprocess.run([sys.executable, str(script)], capture_output=True, timeout=timeout)


@pytest.mark.skipif(sys.platform == "win32", reason="C's write, through ctypes, is POSIX's")
def test_a_long_write_holding_the_gil_does_not_block(tmp_path):
    """C++ that writes much while the import holds the GIL: a forwarder that needs the GIL
    cannot read, and a full pipe blocks the writer (64 KiB hung; then 1 MiB, so 4 MB here)."""
    result = run_script(tmp_path, (
        "import ctypes\n"
        "from d2lrnn.base import quiet\n"
        "lines = b'kept line\\n' * 400000  # 4 MB\n"
        "with quiet.notices_dropped():\n"
        "    ctypes.PyDLL(None).write(2, lines, len(lines))  # PyDLL: the GIL is held\n"
        "print('done')\n"))
    assert result.returncode == 0 and result.stdout == b"done\n"
    assert result.stderr.count(b"kept line\n") == 400000


@pytest.mark.skipif(sys.platform == "win32", reason="C's write and abort, through ctypes")
def test_an_import_that_aborts_still_shows_what_it_wrote(tmp_path):
    """TensorFlow on a CPU it was not built for writes why and aborts: the line must reach
    stderr (it was lost, only the shell's "Aborted" showed), the notices still dropped."""
    (tmp_path / "d2lrnn_dying_framework.py").write_text(
        "import ctypes, os\n"
        f"os.write(2, {NOTICES[1]!r})\n"
        "why = b'The TensorFlow library was compiled to use AVX instructions\\n'\n"
        "libc = ctypes.PyDLL(None)\n"
        "libc.write(2, why, len(why))\n"
        "libc.abort()\n")
    result = run_script(tmp_path, (
        "import sys\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "from d2lrnn.base import quiet\n"
        "quiet.quiet_imports({'d2lrnn_dying_framework': None})\n"
        "import d2lrnn_dying_framework\n"))
    assert result.returncode != 0
    assert b"compiled to use AVX instructions" in result.stderr
    assert b"oneDNN" not in result.stderr


def test_the_python_api_quiets_tensorflow_unless_the_user_set_the_level(monkeypatch):
    """`from d2lrnn import tensorflow` (import_framework) drops the notices as our commands
    do, and silences TensorFlow's later INFO and WARNING logs, unless the user set the level."""
    installed = []
    monkeypatch.setattr(quiet, "quiet_imports", installed.append)
    monkeypatch.delenv(quiet.LOG_LEVEL, raising=False)
    quiet.quiet_unless_asked("numpy")
    assert installed == [] and quiet.LOG_LEVEL not in os.environ
    quiet.quiet_unless_asked("tensorflow")
    assert installed == [{"tensorflow": quiet.tensorflow_devices_listed}]
    assert os.environ[quiet.LOG_LEVEL] == "2"
    monkeypatch.setenv(quiet.LOG_LEVEL, "0")  # the user's: everything shows
    quiet.quiet_unless_asked("tensorflow")
    assert len(installed) == 1 and os.environ[quiet.LOG_LEVEL] == "0"


def test_import_framework_asks_for_the_quiet(monkeypatch):
    from d2lrnn.base import backend

    asked = []
    monkeypatch.setattr(quiet, "quiet_unless_asked", asked.append)
    backend.import_framework("json", "numpy")  # any module: the hook is asked first
    assert asked == ["json"]
