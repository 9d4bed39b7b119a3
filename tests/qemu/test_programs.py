"""Real aarch64 programs from tests/programs run by the real kernel in real QEMU, each
compared with Linux: qemu-aarch64 on this machine for programs that do not exec, Linux 6.1
booted in the same QEMU (the `linux_oracle` fixture) for the others. A literal beside a
comparison only shows that the program got far (two empty outputs must not match)."""
import pytest

from tests.covers import covers

from .conftest import moss_run, qemu_user_run
from .linux_fs_oracle import MOSS_ENV

pytestmark = pytest.mark.qemu


def assert_same_as_qemu_user(program: str, *args: str):
    """stdout and exit status of moss-py and of qemu-aarch64; returns moss's run."""
    moss, linux = moss_run(f"/tests/{program}", *args), qemu_user_run(program, *args)
    assert moss.stdout == linux.stdout, moss.stderr.decode(errors="replace")
    assert moss.returncode == linux.returncode
    return moss


@pytest.mark.differential
@covers("write", "exit_group", "set_tid_address", "set_robust_list", "rseq", "prlimit64")
def test_hello_prints_hello_world_and_exits_zero():
    assert b"hello" in assert_same_as_qemu_user("hello").stdout


@pytest.mark.differential
def test_static_pie_program_runs_at_its_load_bias():
    assert b"hello" in assert_same_as_qemu_user("hello_pie").stdout


@pytest.mark.differential
@pytest.mark.parametrize("code", [0, 1, 42, 255])
@covers("exit_group")
def test_exit_status_reaches_the_host(code):
    r = assert_same_as_qemu_user("exitcode", str(code))
    assert r.returncode == code and str(code).encode() in r.stdout


@pytest.mark.differential
def test_args_env_and_auxv_reach_main(linux_oracle):
    """The same argv and environment in both: every line the same, AT_EXECFN included."""
    r = moss_run("/tests/args", "one", "two words", "")
    out, err, status = linux_oracle.run3(f"{MOSS_ENV} /tests/args one 'two words' ''")
    assert (r.stdout.decode(), r.returncode) == (out, status)
    assert "argv[2]=two words\n" in out and "AT_EXECFN=/tests/args\n" in out


@pytest.mark.differential
@covers("brk", "mmap", "munmap", "mprotect")
def test_brk_and_mmap_churn_keeps_contents():
    assert b"memchurn ok" in assert_same_as_qemu_user("memchurn").stdout


@pytest.mark.differential
@covers("read", "write", "openat", "clock_gettime", "lseek")
def test_bad_user_pointers_give_efault_not_a_crash():
    r = assert_same_as_qemu_user("efault")
    assert b"efault ok" in r.stdout
    assert b"Traceback" not in r.stderr


@pytest.mark.differential
def test_unknown_syscall_is_enosys_with_one_log_line_naming_it():
    r = assert_same_as_qemu_user("enosys")
    assert b"ENOSYS" in r.stdout
    lines = [l for l in r.stderr.decode().splitlines() if "syscall 999" in l]
    assert len(lines) == 1 and "unimplemented" in lines[0]


@pytest.mark.differential
@covers("uname")
def test_uname_reports_linux_on_aarch64(linux_oracle):
    """sysname, machine and domainname as Linux's; nodename, release and version are moss's own."""
    def fields(text: str) -> dict[str, str]:
        return {k: v for k, v in (line.split("=", 1) for line in text.splitlines())
                if k in ("sysname", "machine", "domainname")}
    r = moss_run("/tests/uname")
    out, _ = linux_oracle.run("/tests/uname")
    assert fields(r.stdout.decode()) == fields(out) and len(fields(out)) == 3


@covers("read", "write")
def test_stdin_is_forwarded_to_the_program():
    data = bytes(range(256)) * 100
    r = moss_run("/tests/stdin_cat", stdin=data)
    assert r.returncode == 0
    assert r.stdout == data


@pytest.mark.differential
def test_trace_prints_syscalls_with_decoded_arguments():
    r = moss_run("/tests/hello", extra=("--trace",))
    err = r.stderr.decode()
    assert 'write(1, ' in err and "= 13" in err
    assert 'readlinkat(AT_FDCWD, "/proc/self/exe", ' in err     # fds and paths decoded
    assert "exit_group(0)  " in err and "= ?" in err            # strace's result column
    assert r.stdout == qemu_user_run("hello").stdout          # the trace goes to stderr only


@pytest.mark.differential
@covers("execve")
def test_code_frames_reused_by_a_new_program_run_the_new_code(linux_oracle):
    """DESIGN hazard 1: B's code lands in frames that held A's translated code."""
    r = moss_run("/tests/codeswap_a", "/tests/codeswap_b")
    out, err, status = linux_oracle.run3("/tests/codeswap_a /tests/codeswap_b")
    assert (r.stdout.decode(), r.returncode) == (out, status), r.stderr
    assert "A: " in out and "B: " in out


@pytest.mark.differential
@covers("mmap", "munmap")
def test_refilled_code_frame_runs_the_new_code_not_a_stale_translation():
    """DESIGN hazard 1, deterministic: the frame that held code from one file mapping is
    refilled by the host with another file's code at the same address. Without the
    stub's scrub, QEMU runs the old translation and this prints the first code's line twice."""
    assert b"second: " in assert_same_as_qemu_user("codeswap_mmap").stdout


def test_timing_reports_the_trap_round_trip_split_into_host_and_guest():
    r = moss_run("/bin/dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=500", extra=("--timing",))
    assert r.returncode == 0, r.stderr
    err = r.stderr.decode()
    assert "BENCH name=trap_roundtrip iters=" in err
    assert "host" in err and "guest + QEMU + wake-up" in err
