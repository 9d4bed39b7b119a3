"""Debian's static BusyBox applets on moss-py, compared with the same BusyBox on Linux booted
in the same QEMU (the `linux_oracle` fixture): the same command line, the same output, status
and error messages. A literal beside a comparison only shows that the applet got far."""
import shlex

import pytest

from tests.covers import covers

from .conftest import moss_run

pytestmark = pytest.mark.qemu


def assert_same_as_linux(oracle, *argv: str):
    """stdout, stderr and status of argv run directly by moss-py and through Linux's shell."""
    r = moss_run(*argv)
    out, err, status = oracle.run3(shlex.join(argv))
    assert (r.stdout.decode(), r.stderr.decode(), r.returncode) == (out, err, status)
    return r


@pytest.mark.differential
def test_busybox_echo_prints_its_arguments(linux_oracle):
    assert b"busybox" in assert_same_as_linux(linux_oracle, "/bin/echo", "hello", "from", "busybox").stdout


@pytest.mark.differential
def test_busybox_true_and_false_give_their_statuses(linux_oracle):
    assert assert_same_as_linux(linux_oracle, "/bin/true").returncode == 0
    assert assert_same_as_linux(linux_oracle, "/bin/false").returncode != 0


@covers("openat", "read", "close")
def test_busybox_cat_reads_a_file_from_the_initramfs():
    """moss's image holds an /etc/passwd (the oracle's has none)."""
    r = moss_run("/bin/cat", "/etc/passwd")
    assert r.returncode == 0
    assert r.stdout.startswith(b"root:x:0:0:")


@pytest.mark.differential
def test_busybox_cat_of_a_missing_file_reports_enoent(linux_oracle):
    assert b"No such file" in assert_same_as_linux(linux_oracle, "/bin/cat", "/no/such/file").stderr


@pytest.mark.differential
@covers("getdents64", "newfstatat")
def test_busybox_ls_lists_a_directory(linux_oracle):
    """Both guests have the test programs in /tests."""
    assert b"hello" in assert_same_as_linux(linux_oracle, "/bin/ls", "/tests").stdout


@pytest.mark.differential
@covers("newfstatat", "readlinkat")
def test_busybox_ls_long_format_shows_modes_and_symlinks(linux_oracle):
    """(Dates and owner names differ: the images were made at other times, the oracle's has
    no /etc/passwd; the mode, the link count and the target do not.)"""
    def fields(text: str) -> list[str]:
        f = text.split()
        return f[:2] + f[-3:]
    r = moss_run("/bin/ls", "-l", "/bin/sh")
    out, err, status = linux_oracle.run3("/bin/ls -l /bin/sh")
    assert (fields(r.stdout.decode()), r.returncode) == (fields(out), status)
    assert "->" in out


@pytest.mark.differential
@covers("uname")
def test_busybox_uname_reports_the_kernel(linux_oracle):
    assert b"Linux" in assert_same_as_linux(linux_oracle, "/bin/uname", "-s", "-m").stdout


@pytest.mark.differential
@covers("chdir", "getcwd")
def test_busybox_shell_runs_builtins(linux_oracle):
    r = assert_same_as_linux(linux_oracle, "/bin/sh", "-c", "cd /etc && pwd && echo $((6 * 7)) && exit 3")
    assert b"/etc" in r.stdout


@pytest.mark.differential
@covers("openat", "write", "read")
def test_dev_null_swallows_writes_and_reads_as_eof(linux_oracle):
    script = "echo gone > /dev/null && echo written; read line < /dev/null || echo eof"
    assert b"eof" in assert_same_as_linux(linux_oracle, "/bin/sh", "-c", script).stdout
