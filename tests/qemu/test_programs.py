"""Real aarch64 programs from tests/programs run by the real kernel in real QEMU."""
import pytest

from tests.covers import covers

from .conftest import moss_run

pytestmark = pytest.mark.qemu


@covers("write", "exit_group", "set_tid_address", "set_robust_list", "rseq", "prlimit64")
def test_hello_prints_hello_world_and_exits_zero():
    r = moss_run("/tests/hello")
    assert r.stdout == b"hello, world\n"
    assert r.returncode == 0


def test_static_pie_program_runs_at_its_load_bias():
    r = moss_run("/tests/hello_pie")
    assert r.stdout == b"hello, world\n"
    assert r.returncode == 0


@pytest.mark.parametrize("code", [0, 1, 42, 255])
@covers("exit_group")
def test_exit_status_reaches_the_host(code):
    r = moss_run("/tests/exitcode", str(code))
    assert r.returncode == code
    assert f"exiting with {code}".encode() in r.stdout


def test_args_env_and_auxv_reach_main():
    r = moss_run("/tests/args", "one", "two words", "")
    out = r.stdout.decode().splitlines()
    assert r.returncode == 0
    assert out[:5] == ["argc=4", "argv[0]=/tests/args", "argv[1]=one", "argv[2]=two words", "argv[3]="]
    assert "envp[0]=PATH=/usr/sbin:/usr/bin:/sbin:/bin" in out
    assert "AT_PAGESZ=4096" in out and "AT_HWCAP!=0: yes" in out and "AT_RANDOM!=0: yes" in out
    assert "AT_EXECFN=/tests/args" in out and "AT_PLATFORM=aarch64" in out
    assert "AT_SECURE=0" in out


@covers("brk", "mmap", "munmap", "mprotect")
def test_brk_and_mmap_churn_keeps_contents():
    r = moss_run("/tests/memchurn")
    assert r.returncode == 0, r.stderr
    assert b"memchurn ok" in r.stdout


@covers("read", "write", "openat", "clock_gettime", "lseek")
def test_bad_user_pointers_give_efault_not_a_crash():
    r = moss_run("/tests/efault")
    assert b"efault ok" in r.stdout, r.stdout
    assert r.returncode == 0
    assert b"Traceback" not in r.stderr


def test_unknown_syscall_is_enosys_with_one_log_line_naming_it():
    r = moss_run("/tests/enosys")
    assert r.returncode == 0
    assert b"syscall(999) = -1 ENOSYS" in r.stdout
    lines = [l for l in r.stderr.decode().splitlines() if "syscall 999" in l]
    assert len(lines) == 1 and "unimplemented" in lines[0]


@covers("uname")
def test_uname_reports_linux_on_aarch64():
    r = moss_run("/tests/uname")
    assert b"sysname=Linux\n" in r.stdout and b"machine=aarch64\n" in r.stdout


@covers("read", "write")
def test_stdin_is_forwarded_to_the_program():
    data = bytes(range(256)) * 100
    r = moss_run("/tests/stdin_cat", stdin=data)
    assert r.returncode == 0
    assert r.stdout == data


def test_trace_prints_syscalls_with_decoded_arguments():
    r = moss_run("/tests/hello", extra=("--trace",))
    err = r.stderr.decode()
    assert 'write(1, ' in err and "= 13" in err
    assert 'readlinkat(AT_FDCWD, "/proc/self/exe", ' in err     # fds and paths decoded
    assert "exit_group(0) = ?" in err
    assert r.stdout == b"hello, world\n"


@covers("execve")
def test_code_frames_reused_by_a_new_program_run_the_new_code():
    """DESIGN hazard 1: B's code lands in frames that held A's translated code."""
    r = moss_run("/tests/codeswap_a", "/tests/codeswap_b")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert r.stdout == b"A: 1111\nB: 2222\n"


@covers("mmap", "munmap")
def test_refilled_code_frame_runs_the_new_code_not_a_stale_translation():
    """DESIGN hazard 1, deterministic: the frame that held code from one file mapping is
    refilled by the host with another file's code at the same address. Without the
    stub's scrub, QEMU runs the old translation and this prints 1111 twice."""
    r = moss_run("/tests/codeswap_mmap")
    assert r.stdout == b"first: 1111\nsecond: 2222\n"
    assert r.returncode == 0


def test_timing_reports_the_trap_round_trip_split_into_host_and_guest():
    r = moss_run("/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=500", extra=("--timing",))
    assert r.returncode == 0, r.stderr
    err = r.stderr.decode()
    assert "BENCH name=trap_roundtrip iters=" in err
    assert "host" in err and "guest + QEMU + wake-up" in err
