"""The benchmark workloads: which program, with which arguments.

Argument templates may use ``{tmp}`` (a scratch directory: ``/tmp`` in a
guest, a private temporary directory for qemu-aarch64) and ``{bench}`` (the
directory holding the bench programs: ``/bench`` in a guest).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Workload:
    name: str
    prog: str                      # basename under {bench}; "" for special kinds
    quick: tuple[str, ...]         # argv templates in quick mode
    full: tuple[str, ...]          # argv templates in full mode
    op: str                        # what one "op" is, for the table
    kind: str = "program"          # "program" | "script" | "boot" | "trap" | "echo"
    execs: bool = False            # execve()s another aarch64 binary
    doc: str = ""
    tags: tuple[str, ...] = field(default=())

    def args(self, quick: bool) -> tuple[str, ...]:
        return self.quick if quick else self.full


WORKLOADS: list[Workload] = [
    Workload("boot", "true_static", (), (), "boot", kind="boot",
             doc="Linux: QEMU start to first shell prompt; moss-py: `moss-host run` "
                 "of a program that exits at once (start to exit); qemu-aarch64: "
                 "the same program's start to exit"),
    Workload("null_syscall", "null_syscall", ("10000",), ("100000",), "syscall",
             doc="getppid() as a raw svc #0"),
    Workload("stub_syscall", "stub_syscall", ("10000",), ("100000",), "syscall",
             doc="getpid() as a raw svc #0: moss-py answers it in the guest stub, so this is the "
                 "exception's own cost (entry, eret) beside null_syscall's host round trip"),
    Workload("clock_gettime", "clock_gettime", ("100000",), ("1000000",), "call",
             doc="clock_gettime(CLOCK_MONOTONIC) through libc: the vDSO, after 10,000 untimed calls "
                 "(moss-py's counter calibration, warm_ns in the JSON extra)"),
    Workload("write_devnull", "write_devnull", ("10000",), ("100000",), "write",
             doc="1-byte write(2) to /dev/null"),
    Workload("pagefault", "pagefault", ("1", "16"), ("3", "64"), "page",
             doc="mmap anonymous (16 MiB quick / 64 MiB full), touch every page, munmap"),
    Workload("fork_exit_wait", "fork_exit_wait", ("100",), ("500",), "fork",
             doc="fork(); child _exit(0); parent waitpid()"),
    Workload("fork_exec_wait", "fork_exec_wait", ("50", "{bench}/true_static"),
             ("200", "{bench}/true_static"), "fork+exec", execs=True,
             doc="fork(); child execve(/bench/true_static); parent waitpid()"),
    Workload("pipe_pingpong", "pipe_pingpong", ("1000",), ("5000",), "round trip",
             doc="two processes bounce 1 byte over two pipes"),
    Workload("unix_stream_pingpong", "unix_stream_pingpong", ("1000",), ("5000",), "round trip",
             doc="two processes bounce 1 byte over an AF_UNIX stream socketpair"),
    Workload("tcp_loopback_rr", "tcp_loopback_rr", ("1000",), ("5000",), "round trip",
             doc="two processes bounce 1 byte over a TCP connection on 127.0.0.1 (TCP_NODELAY)"),
    Workload("tcp_loopback_stream", "tcp_loopback_stream", ("16",), ("64",), "MiB",
             doc="a child writes 16 (full: 64) MiB in 64 KiB writes over TCP on 127.0.0.1, the "
                 "parent reads it; MiB/s in the JSON extra"),
    Workload("epoll_wait_ready", "epoll_wait_ready", ("2000",), ("20000",), "epoll_wait",
             doc="epoll_wait returning one ready eventfd (level-triggered, never drained), in a loop"),
    Workload("epoll_pingpong", "epoll_pingpong", ("1000",), ("5000",), "round trip",
             doc="two processes bounce 1 byte over two pipes, each waiting in epoll_wait before "
                 "it reads (an event loop's wake-up)"),
    Workload("thread_create_join", "thread_create_join", ("500",), ("5000",), "create+join",
             doc="pthread_create of a thread that returns at once, then pthread_join"),
    Workload("futex_pingpong", "futex_pingpong", ("2000",), ("20000",), "round trip",
             doc="two threads hand a token back and forth through one futex word (raw "
                 "FUTEX_WAIT/FUTEX_WAKE, PRIVATE); one round trip = two hand-overs"),
    Workload("open_close", "open_close", ("2000", "{tmp}/bench_file"),
             ("20000", "{tmp}/bench_file"), "open+close",
             doc="open(O_RDONLY)+close of a file in /tmp"),
    Workload("stat", "stat", ("2000", "{tmp}/bench_file"),
             ("20000", "{tmp}/bench_file"), "stat",
             doc="stat(2) of a file in /tmp"),
    Workload("read_64m", "read_64m", ("1", "{tmp}/bench_64m", "16"),
             ("3", "{tmp}/bench_64m", "64"), "64 KiB read",
             doc="sequential read of a 64 MiB (quick: 16 MiB) file in 64 KiB chunks"),
    Workload("files_2000", "files_2000", ("2000", "{tmp}"), ("2000", "{tmp}"),
             "file (create+stat+unlink)",
             doc="2,000 files in a fresh directory: open(O_CREAT)+write 16 B+close each, "
                 "stat each, unlink each; per-phase times in the JSON extra"),
    Workload("sleep_accuracy", "sleep_accuracy", ("200",), ("500",), "overshoot",
             doc="nanosleep(1 ms) repeated; the cell is the MEDIAN overshoot (late wake-up) "
                 "per sleep, p99 and max in the JSON extra"),
    Workload("cpu_loop", "cpu_loop", ("5000000",), ("50000000",), "iteration",
             doc="xorshift integer loop, no syscalls: pure TCG user-code speed"),
    Workload("parallel_cpu", "parallel_cpu", ("20000000",), ("100000000",), "iteration",
             doc="one cpu_loop process per online CPU (sysconf): wall time per iteration of all; "
                 "a 1-CPU run over a 2-CPU one (systems moss_smp2, linux_nokaslr_smp2) is the "
                 "speed-up of parallel user code"),
    Workload("cpu_mem", "cpu_mem", ("5000000",), ("20000000",), "read-modify-write",
             doc="random read-modify-writes over a 1 MiB array, no syscalls: how fast user code "
                 "reaches guest RAM (host huge pages under it or not); the cell is the FASTEST "
                 "pass of ~0.35 ms (timed with the virtual counter, after QEMU's softmmu TLB was "
                 "made to fit the array), median pass and whole-run time in the JSON extra"),
    Workload("shell_loop", "shell_loop.sh", ("10", "{bench}/now_ns"),
             ("30", "{bench}/now_ns"), "loop (9 applets)", kind="script", execs=True,
             doc="busybox sh: 9 applet invocations in pipelines per iteration"),
    Workload("key_echo", "", ("60",), ("300",), "key", kind="echo",
             doc="a key typed at the shell prompt -> its echo on the terminal (busybox ash "
                 "line editing); moss-py: `moss-host boot --init /bin/sh` in a pty; Linux: its "
                 "serial console; median of N keys after 5 unmeasured ones (bench/key_echo.py)"),
    Workload("parallel_guests", "", ("4", "20"), ("16", "100"), "batch", kind="parallel",
             doc="moss-py only: N `moss-host run` of a shell loop of M /bin/true started together "
                 "(the cell: the batch's wall time), then the same N one after another (JSON "
                 "extra in_a_row_ns); how test suites and fuzzing farms use a kernel like this"),
    Workload("trap_roundtrip", "null_syscall", ("2000",), ("20000",), "trap", kind="trap",
             doc="moss-py only: EL0 trap -> host -> eret, from `moss-host run --timing`"),
]

BY_NAME = {w.name: w for w in WORKLOADS}
