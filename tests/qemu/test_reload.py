"""Live reload (moss_host/reload.py): `moss-host boot --reload` on a copy of the tree; a
syscall handler edited in the copy answers differently from the same shell, a driver class
edited in place changes open files' behaviour, a broken edit keeps the old code, and a module
of the trap path is refused with its reason. The guest's answers before the edit are
moss-py's own uname (the release it reports), so these are literals."""
from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

import pexpect
import pytest

from .conftest import IMAGE, REPO

pytestmark = pytest.mark.qemu

PROMPT = r"[#$] "


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    copy = tmp_path / "tree"
    shutil.copytree(REPO / "moss_host", copy / "moss_host", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "build").symlink_to(REPO / "build")
    return copy


def boot(tree: Path) -> pexpect.spawn:
    env = dict(os.environ, PYTHONPATH=str(tree))
    child = pexpect.spawn(sys.executable, ["-m", "moss_host.cli", "boot", "--reload", "--image", str(IMAGE),
                                           "--init", "/bin/sh"],
                          cwd=str(tree), env=env, timeout=60, encoding="utf-8", codec_errors="replace")
    child.expect(PROMPT, timeout=120)
    return child


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))
    st = path.stat()                        # a new mtime even within the filesystem's granularity
    os.utime(path, (st.st_atime, st.st_mtime + 2))


def until_output(child: pexpect.spawn, command: str, expected: str, seconds: float = 20) -> None:
    """Run `command` until its output contains `expected` (the watcher polls twice a second)."""
    deadline = time.monotonic() + seconds
    while True:
        child.sendline(command)
        index = child.expect([expected, PROMPT])
        if index == 0:
            child.expect(PROMPT)
            return
        assert time.monotonic() < deadline, f"{command!r} never printed {expected!r}: {child.before!r}"
        time.sleep(0.3)


def test_an_edited_syscall_handler_answers_from_the_same_shell(tree: Path):
    info = tree / "moss_host" / "syscalls" / "info.py"
    child = boot(tree)
    try:
        child.sendline("uname -r")
        child.expect(r"\r\n(\S+)\r\n")
        release = child.match.group(1)
        child.expect(PROMPT)
        assert release != "reloaded-1.0"
        edit(info, 'names.get(k)[:UTS_FIELD - 1]', '(b"reloaded-1.0" if k == "release" else names.get(k))[:UTS_FIELD - 1]')
        child.expect("reload: moss_host.syscalls.info reloaded")
        until_output(child, "uname -r", "reloaded-1.0")
        # A broken edit keeps the last good code.
        edit(info, "def uname(", "def uname(:")
        child.expect("moss_host.syscalls.info kept its old code: SyntaxError")
        until_output(child, "uname -r", "reloaded-1.0")
        # The trap path is refused, with the reason.
        edit(tree / "moss_host" / "proc" / "cpu.py", '"""', '"""  ', )
        child.expect(r"moss_host.proc.cpu not reloaded: tasks, signals and the trap path")
        child.sendline("poweroff -f")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


def test_a_driver_class_edited_in_place_changes_files_already_open(tree: Path):
    memdev = tree / "moss_host" / "fs" / "drivers" / "memdev.py"
    child = boot(tree)
    try:
        child.sendline("exec 3</dev/zero; head -c 4 <&3 | od -An -c")
        child.expect(r"\\0\s+\\0\s+\\0\s+\\0")
        child.expect(PROMPT)
        edit(memdev, "    async def read(self, n: int) -> bytes:\n        return bytes(min(n, MAX_CHUNK))",
             '    async def read(self, n: int) -> bytes:\n        return b"z" * min(n, MAX_CHUNK)')
        child.expect("reload: moss_host.fs.drivers.memdev reloaded")
        until_output(child, "head -c 4 <&3 | od -An -c", r"z\s+z\s+z\s+z")     # the same open file
        child.sendline("poweroff -f")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)
