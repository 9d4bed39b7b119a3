"""ptrace(2) in real programs (tests/programs/ptrace_*.c), compared with Linux 6.1 booted in
the same QEMU (the `linux_oracle` fixture): TRACEME and the exec SIGTRAP, PEEK/POKE
(a POKETEXT into code that already ran takes effect), the register sets, syscall stops
with TRACESYSGOOD (skip with -1, x0 changed at exit, x7 = 0/1), signal-delivery stops,
SEIZE/INTERRUPT/LISTEN, group-stop reporting, TRACEFORK auto-attach, the exec event,
detaching while stopped, EXITKILL, and the errno order of the checks; single step (over an
svc, into a handler), brk, a brk poked into code that already ran, hardware breakpoints and
watchpoints, process_vm_writev into a writable code page that already ran (ptrace_step).
The programs print no pids or addresses.

Debian's strace runs under moss-py and under Linux chrooted into the same image
(`linux_debian_oracle`): `strace -ff` of a shell line that forks, pipes and execs, each
process's trace compared with addresses, pids, random bytes and signal timing masked, and
`strace -c`'s calls and errors per syscall, and `strace -p` attaching to a shell blocked on
a FIFO.
"""

import difflib
import re

import pytest

from tests.covers import covers

from .conftest import moss_run, same_as_linux

pytestmark = pytest.mark.qemu


@pytest.mark.differential
@covers("ptrace")
def test_traceme_peek_poke_regsets_and_syscall_stops_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "ptrace_basic")
    assert "child: patched() after = 2\n" in out            # the breakpoint-style POKETEXT took effect
    assert "child: skipped getppid = 12345\n" in out
    assert "child: getpid = 777\n" in out
    assert out.endswith("CONT after exit: -1 errno 3\n")


@pytest.mark.differential
@covers("ptrace")
def test_single_step_brk_poked_breakpoint_and_hardware_break_and_watchpoints_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "ptrace_step")
    assert "brk: si_code 1 pc steps-4 si_addr==pc yes\n" in out
    assert "step 3: pc steps+20 si_code 2 si_addr==pc yes x9 3\n" in out       # over a taken branch
    assert "step 5: pc steps+28 si_code 0 si_addr==pc no x9 3\n" in out        # the svc: a pseudo-step
    assert "step into handler: at on_usr1 yes si_code 5\n" in out
    assert "poked brk: hit at poked yes si_code 1\n" in out                    # code that already ran
    assert "hw breakpoint: at hwbp_target yes si_code 4 si_addr==pc yes\n" in out
    assert "watchpoint: si_code 4 si_addr==&watched yes value before 0\n" in out
    assert "child: jit() = 2\n" in out          # process_vm_writev into a JIT page that already ran
    assert out.endswith("child exited 0\n")


@pytest.mark.differential
@covers("ptrace")
def test_seize_interrupt_listen_group_stop_fork_exec_events_detach_and_exitkill_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "ptrace_seize")
    assert "group stop: stopped sig 19 event 128\n" in out
    assert "fork event: stopped sig 5 event 1\n" in out
    assert "exec event: stopped sig 5 event 4\n" in out
    assert "tracee: grandchild exited 3\n" in out
    assert "victim: killed by 9\n" in out
    assert "state after detach: T\nstate after SIGCONT: S\n" in out      # detached from a group stop


@pytest.mark.differential
@covers("ptrace")
def test_ptrace_errors_come_in_linux_order(linux_oracle):
    out = same_as_linux(linux_oracle, "ptrace_errors")
    assert "uid 1000: ATTACH non-dumpable        -1 EPERM\n" in out
    # arm64 has had PTRACE_SYSEMU since 5.3: it resumes, and the tracee stops at its next entry
    assert "SYSEMU                               0 \n  stopped: sig 5\n" in out
    assert out.endswith("traced child exited 0\ndone\n")


@pytest.mark.differential
@covers("process_vm_readv", "process_vm_writev")
def test_process_vm_readv_and_writev_match_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "process_vm")
    assert "got EDGEDATA\n" in out                  # a short copy up to the unmapped page
    assert out.endswith("child sees: the SECRETs secret: 0123456789\n")


SHELL_LINE = "echo hi | cat; ls /nonexist; true"
STRACE_FF = (f'strace -ff -o /var/tmp/tr sh -c "{SHELL_LINE}"; '
             'for f in $(ls /var/tmp/tr.* | sort -t. -k2 -n); do echo "== process"; cat $f; done; '
             'rm -f /var/tmp/tr.*')


def per_process_traces(text: str) -> list[list[str]]:
    """strace -ff's files, one list of lines per process in pid order, with what differs
    between any two runs masked: addresses, pids, getrandom's bytes, munmap lengths and
    counts (where mmap put the library: ld.so trims the head of its reservation when it is
    not aligned), stdout's file type (a pipe or a file, the harness's choice), the
    /proc/filesystems ls reads (each kernel's own list); signal deliveries are dropped
    (when SIGCHLD lands is the scheduler's), as are SIGQUIT's dispositions (Linux's console
    shell leaves it ignored)."""
    procs: list[list[str]] = []
    for line in text.splitlines():
        if line == "== process":
            procs.append([])
            continue
        if not procs or line.startswith("---") or line.startswith("rt_sigreturn(") or "SIGQUIT" in line:
            continue
        line = re.sub(r"0x[0-9a-f]+", "ADDR", line)
        line = re.sub(r'getrandom\("[^"]*"', 'getrandom("RANDOM"', line)
        line = re.sub(r"^(munmap\(ADDR, )\d+", r"\1LEN", line)
        line = re.sub(r"^((?:set_tid_address|getpid|getppid|clone|clone3|wait4)\(.*= )\d+$", r"\1PID", line)
        line = re.sub(r'^(newfstatat\(1, "", \{st_mode=)[^,]*', r"\1MODE", line)
        line = re.sub(r'^read\(3, "nodev.*', "read(3, /proc/filesystems)", line)
        line = re.sub(r"\s+=", " =", line)
        if line.startswith("munmap(ADDR, LEN)") and procs[-1] and procs[-1][-1] == line:
            continue                            # ld.so trims one or both ends of its reservation
        procs[-1].append(line)
    return procs


@pytest.mark.differential
@covers("ptrace", "process_vm_readv")
def test_strace_ff_of_a_pipeline_matches_linux(linux_debian_oracle, moss_disk):
    linux = same_traces_as_linux(linux_debian_oracle, moss_disk, STRACE_FF)
    assert len(linux) == 4 and 'execve("/bin/cat", ["cat"], ADDR /* 4 vars */) = 0' in linux[2]


def same_traces_as_linux(oracle, disk, script: str) -> list[list[str]]:
    """Run the strace -ff script under Linux and moss-py: the same traces, process by process
    (per_process_traces' masking); returns Linux's."""
    argv = ["sh", "-c", script]
    linux_out, linux_err, status = oracle.run_argv(argv)
    assert status == 0, linux_err
    moss = moss_run(*argv, image=None, extra=("--disk", str(disk)), timeout=300)
    assert moss.returncode == 0, moss.stderr.decode(errors="replace")[-2000:]
    linux, ours = per_process_traces(linux_out), per_process_traces(moss.stdout.decode(errors="replace"))
    for n, (theirs, mine) in enumerate(zip(linux, ours)):
        assert mine == theirs, f"process {n}:\n" + "\n".join(difflib.unified_diff(theirs, mine, "linux", "moss",
                                                                                 lineterm=""))
    assert len(ours) == len(linux)
    return linux


STRACE_SECCOMP = ('strace -ff --seccomp-bpf -e trace=%process,pipe2,dup3,getppid -o /var/tmp/ts '
                  f'sh -c "{SHELL_LINE}"; '
                  'for f in $(ls /var/tmp/ts.* | sort -t. -k2 -n); do echo "== process"; cat $f; done; '
                  'rm -f /var/tmp/ts.*')


@pytest.mark.differential
@covers("ptrace", "seccomp")
def test_strace_seccomp_bpf_stops_only_at_the_calls_it_traces_as_on_linux(linux_debian_oracle, moss_disk):
    """strace --seccomp-bpf: each tracee runs a filter answering SECCOMP_RET_TRACE for the
    traced calls; PTRACE_EVENT_SECCOMP stops and PTRACE_GET_SYSCALL_INFO's seccomp op give
    strace the call, the rest run without a stop."""
    linux = same_traces_as_linux(linux_debian_oracle, moss_disk, STRACE_SECCOMP)
    assert len(linux) == 4 and any(line.startswith("pipe2(") for line in linux[0])


def strace_counts(text: str) -> dict[str, tuple[str, str]]:
    """strace -c's table without the times: syscall -> (calls, errors); munmap's count
    depends on where mmap put ld.so's reservation (see per_process_traces)."""
    rows = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 5 and fields[0][0].isdigit() and fields[-1] != "total":
            errors = fields[4] if len(fields) == 6 else ""
            rows[fields[-1]] = (fields[3], errors)
    rows.pop("munmap", None)
    return rows


@pytest.mark.differential
@covers("ptrace")
def test_strace_c_counts_the_same_calls_and_errors_as_linux(linux_debian_oracle, moss_disk):
    argv = ["strace", "-c", "true"]
    _, linux_err, status = linux_debian_oracle.run_argv(argv)
    assert status == 0, linux_err
    moss = moss_run(*argv, image=None, extra=("--disk", str(moss_disk)), timeout=300)
    assert moss.returncode == 0
    linux = strace_counts(linux_err)
    assert linux["execve"] == ("1", "") and linux["openat"][1] == "4"
    assert strace_counts(moss.stderr.decode(errors="replace")) == linux


@pytest.mark.differential
def test_proc_pid_mem_reads_and_writes_another_process_like_linux(linux_oracle):
    out = same_as_linux(linux_oracle, "proc_mem")
    assert "pread unmapped: -1 Input/output error\n" in out
    assert "child: value = 0xabcdef, patched() = 2\n" in out     # a write into code that already ran


# A bash blocked opening a FIFO; strace -p attaches (PTRACE_SEIZE + INTERRUPT: the open is
# interrupted and restarted), then the FIFO is written: the opens and reads that follow.
STRACE_P = """
rm -f /var/tmp/go /var/tmp/st; mkfifo /var/tmp/go
bash -c 'read x < /var/tmp/go; read y < /etc/debian_version; echo "target: $x ${#y}"' &
pid=$!
sleep 0.5
strace -e trace=openat,read -p $pid 2>/var/tmp/st &
spid=$!
n=0; until grep -q attached /var/tmp/st || [ $n -ge 300 ]; do sleep 0.1; n=$((n+1)); done
echo go > /var/tmp/go
wait $pid; wait $spid
sed -e "s/Process [0-9]*/Process N/" /var/tmp/st
rm -f /var/tmp/go /var/tmp/st
"""


@pytest.mark.differential
@covers("ptrace")
def test_strace_p_attaches_to_a_running_process_like_linux(linux_debian_oracle, moss_disk):
    argv = ["bash", "-c", STRACE_P]
    linux_out, linux_err, status = linux_debian_oracle.run_argv(argv)
    assert status == 0, linux_err
    moss = moss_run(*argv, image=None, extra=("--disk", str(moss_disk)), timeout=300)
    assert moss.stdout.decode(errors="replace") == linux_out, moss.stderr.decode(errors="replace")[-2000:]
    assert 'openat(AT_FDCWD, "/var/tmp/go", O_RDONLY) = 3\n' in linux_out
    assert linux_out.endswith("+++ exited with 0 +++\n")
