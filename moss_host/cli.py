"""moss-host: run a program or boot a shell on the moss-py kernel, or attach gdb alongside.

  moss-host run [--image IMG] [--trace] [--gdb ADDR] -- PROG ARGS...
  moss-host boot [--image IMG] [--gdb ADDR] [--init PATH]   (BusyBox init, or PATH, as pid 1)
  moss-host gdb [--batch-cmds FILE]
"""
from __future__ import annotations

import argparse
import asyncio
import errno
import json
import logging
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

from moss_host.errors import Errno, KernelPanic
from moss_host.machine.qemu import MachineError

log = logging.getLogger("moss")

MAX_CPUS = 8                # -M virt's GICv2 serves 8 CPUs
DEFAULT_CPUS = int(os.environ.get("MOSS_CPUS", "1"))    # docs/trap-path.md: why 1


def exit_code_of(wait_status: int) -> int:
    """A shell's view of a wait(2) status: the exit code, or 128 + the killing signal."""
    if wait_status & 0x7F == 0:
        return (wait_status >> 8) & 0xFF
    return 128 + (wait_status & 0x7F)


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="moss-host", description="The moss-py kernel: Linux in Python.")
    p.add_argument("-v", "--verbose", action="count", default=0, help="more kernel logging")
    sub = p.add_subparsers(dest="command", required=True)

    def kernel_options(sp):
        sp.add_argument("--image", type=Path, help="initramfs (cpio newc) to use as the root filesystem")
        sp.add_argument("--trace", nargs="?", const="all", metavar="SPEC",
                        help="print syscalls, signals and exits as strace does; SPEC as strace -e trace=: "
                             "openat,read or classes %%file %%process %%network %%signal %%ipc %%desc %%memory")
        sp.add_argument("--trace-pid", type=int, action="append", metavar="PID",
                        help="trace only this process (repeatable)")
        sp.add_argument("--trace-out", metavar="FILE", help="write the trace to FILE instead of stderr")
        sp.add_argument("--trace-json", action="store_true", help="one JSON object per syscall")
        sp.add_argument("--trace-summary", action="store_true",
                        help="strace -c's table at exit, with the host time per call (median, p99)")
        sp.add_argument("--gdb", metavar="ADDR", nargs="?", const="tcp:127.0.0.1:1234",
                        help="expose QEMU's gdbstub (default tcp:127.0.0.1:1234) and wait for gdb")
        sp.add_argument("--ram", type=int, default=1024, metavar="MiB", help="guest RAM size")
        sp.add_argument("--cpus", type=int, default=DEFAULT_CPUS, metavar="N",
                        help=f"virtual CPUs, 1-8 (default {DEFAULT_CPUS}; env MOSS_CPUS)")
        sp.add_argument("--disk", type=Path, metavar="IMG",
                        help="an ext2/3/4 image to use as the root filesystem, read-write (see `just disk`)")
        sp.add_argument("--forward", action="append", default=[], metavar="tcp|udp:[ADDR:]HOSTPORT:GUESTPORT",
                        help="forward a host port (on 127.0.0.1 unless ADDR) to a guest port (repeatable)")
        sp.add_argument("--net", choices=("user", "none"), default="user",
                        help="user: eth0 10.0.2.15 reaching the world through host sockets (default); "
                             "none: only the loopback")
        sp.add_argument("--strict", action="store_true", default=os.environ.get("MOSS_STRICT") == "1",
                        help="a kernel bug (a host exception in a syscall or fault) panics the run, exit 125 "
                             "(default when MOSS_STRICT=1, as in the test suite)")

    run = sub.add_parser("run", help="run one program and exit with its status")
    kernel_options(run)
    run.add_argument("--timing", action="store_true",
                     help="measure the trap round trip and print it at exit (see bench/README.md)")
    run.add_argument("program", nargs=argparse.REMAINDER, help="-- PROG ARGS...")
    boot = sub.add_parser("boot", help="boot to a shell on the console")
    kernel_options(boot)
    boot.set_defaults(timing=False)
    boot.add_argument("--reload", action="store_true",
                      help="watch moss_host/ and reload a changed syscall or driver module between two traps")
    boot.add_argument("--init", default="/sbin/init",
                      help="first program (default /sbin/init, BusyBox init reading /etc/inittab; "
                           "/bin/sh for a shell as pid 1)")
    console = sub.add_parser("console", help="open the kernel console of a running `moss-host boot`")
    console.add_argument("--pid", type=int, help="the moss-host process, when several boots are running")
    gdb = sub.add_parser("gdb", help="attach gdb-multiarch to a moss-host started with --gdb")
    gdb.add_argument("gdb_args", nargs=argparse.REMAINDER)
    return p.parse_args(bare_trace_means_all(argv))


def bare_trace_means_all(argv: list[str]) -> list[str]:
    """`--trace PROG` traces everything in PROG: a bare --trace is --trace=all (its SPEC is only
    ever given as --trace=SPEC), up to the `--` that starts the program."""
    end = argv.index("--") if "--" in argv else len(argv)
    return ["--trace=all" if a == "--trace" else a for a in argv[:end]] + argv[end:]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.WARNING - 10 * args.verbose, format="moss: %(message)s")
    if args.command == "gdb":
        return attach_gdb(args.gdb_args)
    if args.command == "console":
        from moss_host import kconsole
        return kconsole.attach(args.pid)
    program = args.program if args.command == "run" else [args.init]
    if program and program[0] == "--":
        program = program[1:]
    if not program:
        print("moss-host run: no program given (moss-host run -- PROG ARGS...)", file=sys.stderr)
        return 2
    if args.command == "boot":
        return boot(args, program)
    return run_kernel(args, program)[0]


def setup_network(args, kernel) -> bool:
    """--net and --forward: the interface table, and the forwards' host listeners once the kernel's loop runs."""
    from moss_host.net.inet_host import parse_forward, start_forwards
    from moss_host.net.interfaces import NETWORK

    try:
        forwards = [parse_forward(spec) for spec in args.forward]
    except ValueError as e:
        print(f"moss-host: {e}", file=sys.stderr)
        return False
    NETWORK.configure(args.net != "none")

    async def listen(_machine) -> None:
        await start_forwards(forwards)
    if forwards:
        kernel.on_machine_start.append(listen)
    return True


def boot(args, program: list[str]) -> int:
    """Run kernels until one ends without asking for a restart (reboot(2) RESTART: a fresh
    kernel on the same image, as a machine reset would give)."""
    while True:
        status, restart = run_kernel(args, program)
        if not restart:
            return status
        print("moss: restarting", file=sys.stderr, flush=True)


def is_init(path: str) -> bool:
    """An init makes its own sessions and controlling terminal (BusyBox init: setsid + TIOCSCTTY)."""
    return Path(path).name == "init"


def run_kernel(args, program: list[str]) -> tuple[int, bool]:
    """One kernel run: (moss-host's exit status, whether reboot(2) asked for a restart)."""
    from moss_host.kernel import ImageError, Kernel, KernelConfig
    from moss_host.machine.polling import PollingEventLoop
    from moss_host.syscalls.trace import TraceSpecError, options_from

    try:
        trace = options_from(args.trace, args.trace_pid, args.trace_out, args.trace_json, args.trace_summary)
    except TraceSpecError as e:
        print(f"moss-host: --trace: {e}", file=sys.stderr)
        return 2, False
    if not 1 <= args.cpus <= MAX_CPUS:
        print(f"moss-host: --cpus: 1 to {MAX_CPUS}", file=sys.stderr)
        return 2, False
    config = KernelConfig(trace_options=trace, gdb=gdb_address(args.gdb), ram_mib=args.ram,
                          timing=args.timing, disk=args.disk, strict=args.strict, cpus=args.cpus)
    if args.image:
        config.image = args.image
    config.init_owns_console = not (args.command == "boot" and is_init(program[0]))
    kernel = Kernel(config)
    if not setup_network(args, kernel):
        return 2, False
    if args.gdb is not None:
        from moss_host import gdbhost
        from moss_host.kernel import gdb_info_dir
        gdbhost.install(kernel, gdb_info_dir())     # moss ps / switch / break-exec in gdb
    if args.command == "boot":
        from moss_host import kconsole, reload
        kconsole.install(kernel, reload.install(kernel, watch=args.reload))    # Ctrl-] p, moss-host console
    saved_tty = save_terminal()
    # SIGTERM/SIGHUP end the run like Ctrl-C does: through the finally blocks that stop QEMU.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        with asyncio.Runner(loop_factory=PollingEventLoop) as runner:    # polls the mailbox before it blocks
            status = runner.run(kernel.run(program))
    except KeyboardInterrupt:
        print("moss: interrupted", file=sys.stderr)
        return 130, False
    except (MachineError, KernelPanic, ImageError) as e:
        print(f"moss: {e}", file=sys.stderr)
        return 125, False
    except Errno as e:
        print(f"moss: cannot start {program[0]}: {exec_error(e)}", file=sys.stderr)
        if e.why:
            log.debug("why: %s", e.why)
        return (126 if e.code in (errno.EACCES, errno.ENOEXEC) else 127), False
    except Exception as e:  # a kernel bug: one readable line, the traceback only with -v
        log.debug("internal error", exc_info=True)
        print(f"moss: internal error: {type(e).__name__}: {e} (run with -v for the traceback)", file=sys.stderr)
        return 125, False
    finally:
        if kernel.machine is not None:
            kernel.machine.kill_now()
        if kernel.bugs.summary():
            print(kernel.bugs.summary(), file=sys.stderr)
        if kernel.tracer is not None:
            kernel.tracer.close()       # --trace-summary's table; the --trace-out file
        from moss_host.tty.console import close_consoles
        close_consoles()                # the console's raw mode and queued output, before our restore
        restore_terminal(saved_tty)
    return exit_code_of(status), kernel.restart_requested


def exec_error(e: Errno) -> str:
    """How a failed execve reads: the errno's name and its strerror, "ENOENT (No such file or
    directory)" (the kernel's detail, e.why, goes to the log at debug level)."""
    return f"{errno.errorcode.get(e.code, str(e.code))} ({os.strerror(e.code)})"


def save_terminal():
    """The console puts our terminal in raw mode while the guest runs (moss_host/tty/console.py):
    undo that at exit, whatever way the run ends."""
    import termios
    try:
        return termios.tcgetattr(0)
    except (termios.error, OSError):
        return None


def restore_terminal(saved) -> None:
    import termios
    if saved is not None:
        try:
            termios.tcsetattr(0, termios.TCSANOW, saved)
        except (termios.error, OSError):
            pass


def gdb_address(option: str | None) -> str | None:
    """QEMU's -gdb syntax from ours: 'tcp:HOST:PORT' or 'unix:PATH'."""
    if option is None:
        return None
    if option.startswith("unix:"):
        return f"{option},server=on,wait=off"
    if option.startswith("tcp:"):
        return f"tcp:{option[4:]}"
    return option


def attach_gdb(extra: list[str]) -> int:
    """Start gdb-multiarch on the running session with the stub's and the program's symbols."""
    from moss_host.kernel import gdb_info_dir

    info_file = gdb_info_dir() / "session.json"
    if not info_file.exists():
        print("moss: no session waiting for gdb; start one with `just boot --gdb`", file=sys.stderr)
        return 1
    info = json.loads(info_file.read_text())
    return subprocess.call(["gdb-multiarch", *gdb_commands(info), *extra])


def gdb_commands(info: dict) -> list[str]:
    target = info["gdb"]
    remote = target.split(",")[0].replace("tcp:", "", 1) if target.startswith("tcp:") else target.split(",")[0]
    return ["-q", "-ex", "set pagination off", "-ex", "set confirm off",
            "-ex", f"file {shlex.quote(info['program'])}" if not info["program_bias"] else
            f"add-symbol-file {shlex.quote(info['program'])} -o {info['program_bias']:#x}",
            "-ex", f"add-symbol-file {shlex.quote(info['stub'])}",
            "-ex", f"source {shlex.quote(str(Path(__file__).with_name('gdb_extension.py')))}",
            "-ex", f"moss connect {shlex.quote(info['socket'])} {shlex.quote(info['stub'])}",
            "-ex", f"target remote {remote}"]


if __name__ == "__main__":
    sys.exit(main())
