# moss-py tasks. `just --list` shows them; `just boot` is the one to start with.
# Arguments after a recipe name are passed through unchanged ("$@"), quoting kept.
set positional-arguments := true

image_path := "build/initramfs.cpio"

# List the recipes.
default:
    @just --list

# Install system packages, Debian arm64 debs and the Python package (idempotent, quick when done).
setup:
    scripts/setup.sh

# Build the guest stub into build/guest_stub/stub.elf.
stub:
    make --no-print-directory -C guest_stub

# Cross-compile the C test programs into build/programs/.
programs:
    make -s --no-print-directory -C tests/programs

# Build build/initramfs.cpio (busybox + /etc + the test programs under /tests).
image: programs
    scripts/fetch_debs.sh >/dev/null
    python3 images/build_initramfs.py

# build/rootfs.ext4: the same tree as an ext4 disk image (made once; it keeps what you write).
disk: image
    python3 images/build_disk.py

# The kernel's bytecode, as pip compiles an installed package's: every moss-host run imports
# about 300 modules, 0.55 s to exit for `true` without it, 0.31 s with it (Python still checks
# each source's mtime, and compiles in memory what was edited since).
bytecode:
    python3 -m compileall -q moss_host

# Everything a boot needs.
build: stub programs image disk bytecode

# Boot the initramfs to a busybox shell on this terminal, e.g. `just boot --trace`, `just boot --gdb`.
boot *ARGS: build
    moss-host boot --image {{image_path}} "$@"

# Boot with the ext4 disk image as a read-write root; changes survive `poweroff`.
boot-disk *ARGS: build
    moss-host boot --disk build/rootfs.ext4 "$@"

# build/debian.ext4: Debian bookworm arm64 (bash, coreutils, python3, gdb, ...) via mmdebstrap; rebuilt when its inputs change.
image-debian:
    scripts/image_debian.sh

# Boot the Debian image to a bash login prompt, read-write (its changes last until it is rebuilt).
boot-debian *ARGS: stub image-debian
    moss-host boot --disk build/debian.ext4 "$@"

# Run one program inside moss-py, e.g. `just run /tests/hello`.
run *ARGS: build
    moss-host run --image {{image_path}} "$@"

# Attach gdb-multiarch to a moss-py started with `just boot --gdb`.
gdb *ARGS:
    python3 -m moss_host.cli gdb "$@"

# All tests (unit, in QEMU, differential), e.g. `just test -k pipe`.
test *ARGS: build
    python3 -m pytest -q "$@"

# kill -9 moss-host N times during a file churn on ext4; every trial must recover (tests/qemu/test_ext4_crash.py).
crash-test N="100": build
    scripts/crash_test.sh {{N}}

# Only the tests that need no QEMU (fast).
test-unit *ARGS:
    python3 -m pytest -q tests/unit "$@"

# Debian's trinity under moss-py --strict with a fixed seed, e.g. `just fuzz --seconds 600 --seed 1 --children 2 --cpus 1`: syscalls made, kernel bugs, hangs (no heartbeat for 10 s), guest and host CPU per fuzzed call (scripts/fuzz.sh; --profile OUT, --moss-dir TREE for A/B).
fuzz *ARGS: build
    scripts/fuzz.sh {{ARGS}}

# The same trinity command inside Linux 6.1 on the same Debian image and QEMU, e.g. `just fuzz-linux --seconds 120 --smp 2`: its rate and CPU per call.
fuzz-linux *ARGS:
    python3 scripts/fuzz_linux.py {{ARGS}}

# Debian's stress-ng stressors one by one with --verify under --strict, then whether the guest's
# MemFree and moss-host's RssAnon came back to where they started (scripts/stress.sh).
stress *ARGS: build
    scripts/stress.sh {{ARGS}}

# Host-side fuzzing without QEMU: every syscall handler, N random examples each (tests/unit/test_fuzz_handlers.py).
fuzz-host N="500" *ARGS:
    MOSS_FUZZ_EXAMPLES={{N}} python3 -m pytest -q -o faulthandler_timeout=120 tests/unit/test_fuzz_handlers.py {{ARGS}}

# Side-by-side benchmarks: moss-py vs Linux vs qemu-aarch64 (see bench/README.md).
bench *ARGS: build
    python3 -m bench.run "$@"

# Regenerate the syscall support document.
syscall-doc:
    python3 -m moss_host.syscalls.doc --write

# The README's two commands on a clean clone of HEAD: empty venv, TMPDIR and caches (run before resolving an issue).
fresh-check *ARGS:
    scripts/fresh_check.sh "$@"
