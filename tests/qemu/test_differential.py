"""The same binary under qemu-aarch64 (this machine's Linux answers the syscalls, on a
Cortex-A72 like moss-py's guest) and under moss-py must print the same and exit the same.
Linux is the specification. Every program here prints something under the oracle, which
the tests check, so two empty outputs cannot agree."""
import pytest

from tests.covers import covers

from .conftest import moss_run, qemu_user_run

pytestmark = [pytest.mark.qemu, pytest.mark.differential]


def status_of(completed) -> int:
    """A shell's view of the status: a negative subprocess code is a signal."""
    return 128 - completed.returncode if completed.returncode < 0 else completed.returncode


CASES = [
    ("hello", ()), ("hello_pie", ()), ("exitcode", ("0",)), ("exitcode", ("77",)),
    ("memchurn", ()), ("efault", ()), ("enosys", ()), ("segv", ()), ("codeswap_mmap", ()),
]


@pytest.mark.parametrize("program,args", CASES, ids=[f"{p}{'-' + a[0] if a else ''}" for p, a in CASES])
def test_program_matches_qemu_user(program, args):
    linux = qemu_user_run(program, *args)
    assert linux.stdout, linux.stderr               # the oracle ran the program
    moss = moss_run(f"/tests/{program}", *args)
    assert moss.stdout == linux.stdout
    assert status_of(moss) == status_of(linux)


@covers("read", "write")
def test_stdin_copy_matches_qemu_user():
    data = b"line one\nline two\n" * 500
    linux = qemu_user_run("stdin_cat", stdin=data)
    assert linux.stdout == data                     # the oracle copied all of it
    moss = moss_run("/tests/stdin_cat", stdin=data)
    assert moss.stdout == linux.stdout
    assert status_of(moss) == status_of(linux)


def test_initial_stack_matches_qemu_user_apart_from_paths():
    """argv/envp/auxv as main sees them. qemu-aarch64 reverses envp and names the host
    path in AT_EXECFN, so compare envp as a set and drop the path-bearing lines."""
    def normalise(out: bytes) -> list[str]:
        lines = [l for l in out.decode().splitlines() if not l.startswith(("argv[0]=", "AT_EXECFN="))]
        return sorted("envp=" + l.split("=", 1)[1] if l.startswith("envp[") else l for l in lines)
    moss = moss_run("/tests/args", "a", "b c")
    linux = qemu_user_run("args", "a", "b c")
    assert "argv[2]=b c" in normalise(linux.stdout)
    assert normalise(moss.stdout) == normalise(linux.stdout)
    assert status_of(moss) == status_of(linux)
