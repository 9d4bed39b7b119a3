"""Linux with its block-filesystem modules loaded: the oracle for ext2/3/4, vfat and loop devices.

Debian builds ext4, vfat and loop as modules, and the session oracle (``linux_oracle.py``) boots
without any.  ``LinuxWithModules`` is the same VM with the modules (taken from the same kernel
package, cached under ``build/bench/modules/``) in its initramfs and loaded with BusyBox's
``insmod`` after every boot; loop devices then exist (``/dev/loop0``...), so BusyBox's
``mount -o loop`` and ``losetup`` work as on any Linux.

pytest: the session fixture ``linux_fs_oracle`` (build/programs/* at /tests/, as in the session
oracle) serves tests that need only the modules; ``linux_with_files(files)`` boots a VM of
its own (a few seconds) for a test that brings disk images, and stops it afterwards.  Import
both with ``from .linux_fs_oracle import linux_fs_oracle, linux_with_files  # noqa: F401``.
"""
from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Iterator, Mapping

import pytest

from .linux_oracle import CACHE, DL, QEMU, FileSource, LinuxOracle, OracleError, default_oracle_files, \
    kernel_image, kernel_version

# The environment `moss-host run` gives its program (moss_host/kernel.py's DEFAULT_ENV): a
# command prefix that gives an oracle's program exactly this one.
MOSS_ENV = "env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=linux"

# In load order (each after what it depends on; ext4's crc32c comes through the crypto API).
MODULES = {
    "crc16": "lib/crc16.ko",
    "mbcache": "fs/mbcache.ko",
    "jbd2": "fs/jbd2/jbd2.ko",
    "crc32c_generic": "crypto/crc32c_generic.ko",
    "ext4": "fs/ext4/ext4.ko",
    "loop": "drivers/block/loop.ko",
    "fat": "fs/fat/fat.ko",
    "vfat": "fs/fat/vfat.ko",
    "msdos": "fs/fat/msdos.ko",
    "nls_cp437": "fs/nls/nls_cp437.ko",
    "nls_ascii": "fs/nls/nls_ascii.ko",
    "nls_utf8": "fs/nls/nls_utf8.ko",
    "nls_iso8859-1": "fs/nls/nls_iso8859-1.ko",
}


def module_files() -> dict[str, Path]:
    """Guest path (/modules/NAME.ko) -> host path of each module, extracted once from the
    kernel package the oracle's Image came from."""
    return extract_modules(MODULES, "modules")


def extract_modules(modules: Mapping[str, str], cache_dir: str) -> dict[str, Path]:
    """/modules/NAME.ko -> host path of each of `modules` (guest name -> path in the kernel
    package), extracted once into CACHE/cache_dir/<version> from the package the oracle's
    Image came from."""
    kernel_image()                                  # downloads the package if need be
    version = kernel_version()
    out = CACHE / cache_dir / version
    wanted = {name: out / f"{name}.ko" for name in modules}
    if not all(p.exists() for p in wanted.values()):
        debs = sorted(DL.glob(f"linux-image-{version}-unsigned_*_arm64.deb")) or \
            sorted(DL.glob("linux-image-*-arm64-unsigned_*_arm64.deb"))
        if not debs:
            raise OracleError(f"no kernel package for {version} in {DL}")
        tmp = out.with_name(f"{version}.{os.getpid()}.tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        members = [f"./lib/modules/{version}/kernel/{rel}" for rel in modules.values()]
        subprocess.run(f"dpkg-deb --fsys-tarfile {shlex.quote(str(debs[-1]))} | "
                       f"tar -x -C {shlex.quote(str(tmp))} {' '.join(map(shlex.quote, members))}",
                       shell=True, check=True, capture_output=True)
        for name, rel in modules.items():
            (tmp / f"lib/modules/{version}/kernel/{rel}").rename(tmp / f"{name}.ko")
        shutil.rmtree(tmp / "lib")
        if out.exists():                            # a concurrent extraction won
            shutil.rmtree(tmp)
        else:
            tmp.rename(out)
    return {f"/modules/{name}.ko": path for name, path in wanted.items()}


class LinuxWithModules(LinuxOracle):
    """The oracle VM with the filesystem modules loaded after each boot."""

    def __init__(self, extra_files: Mapping[str, FileSource] | None = None, *, name: str = "fs-oracle") -> None:
        super().__init__({**module_files(), **(extra_files or {})}, name=name)

    def start(self) -> "LinuxWithModules":
        if self.running:
            return self
        super().start()
        load = " && ".join(f"insmod /modules/{name}.ko" for name in MODULES)
        out, status = self.run(load)
        if status != 0:
            self.stop()
            raise OracleError(f"{self.name}: loading the modules failed: {out}")
        return self


@contextlib.contextmanager
def linux_with_files(files: Mapping[str, FileSource], programs: bool = True) -> Iterator[LinuxWithModules]:
    """A VM of its own with the modules, build/programs/* at /tests/ (unless not
    ``programs``) and ``files`` (guest path -> host path or bytes); stopped on leaving the
    block. Everything is in its initramfs, which the VM's 1 GiB holds twice while it boots
    (the archive and the files unpacked from it): large files that do not compress leave
    the programs (170 static binaries, 110 MiB) out."""
    if shutil.which(QEMU) is None:
        pytest.skip(f"{QEMU} not installed")
    vm = LinuxWithModules({**(default_oracle_files() if programs else {}), **files}, name="fs-oracle-files")
    try:
        yield vm.start()
    finally:
        vm.stop()


@pytest.fixture(scope="session")
def linux_fs_oracle():
    """A booted Linux VM with ext4, vfat and loop loaded, shared by the session; the tests'
    programs (build/programs/*) are at /tests/ in the guest."""
    if shutil.which(QEMU) is None:
        pytest.skip(f"{QEMU} not installed")
    vm = LinuxWithModules(default_oracle_files())
    try:
        yield vm.start()
    finally:
        vm.stop()
