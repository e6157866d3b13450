"""Our commands drop TensorFlow's start-up notices, which its C++ writes to descriptor 2
before its logging starts (d2lrnn.tools.quiet), and forward every other line. Checked here on
lines written the same way (os.write to descriptor 2), so that it holds in every env; the
tensorflow env checks the real command in test_imports.py."""
import os
import subprocess
import sys

import pytest

from d2lrnn.tools import quiet

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
    module = __import__(name)
    assert module.VALUE == 42 and seen == [module]
    assert capfd.readouterr().err.encode() == KEPT[0]
    assert not isinstance(module.__loader__, quiet.QuietLoader)
    assert module.__spec__.loader is module.__loader__
    assert not any(isinstance(f, quiet.QuietImport) for f in sys.meta_path)  # done, gone


@pytest.mark.skipif(sys.platform != "linux", reason="the pipe's size is set on Linux only")
def test_a_long_write_holding_the_gil_does_not_block(tmp_path):
    """C++ that writes much while the import holds the GIL: the forwarder cannot read until
    it is released, so the pipe must hold it all (a 64 KiB pipe hung here)."""
    script = tmp_path / "long_write.py"
    script.write_text(
        "import ctypes, sys\n"
        "from d2lrnn.tools import quiet\n"
        "lines = b'kept line\\n' * 30000  # 300 KB\n"
        "with quiet.notices_dropped():\n"
        "    ctypes.PyDLL(None).write(2, lines, len(lines))  # PyDLL: the GIL is held\n")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, timeout=120)
    assert result.returncode == 0
    assert result.stderr.count(b"kept line\n") == 30000
