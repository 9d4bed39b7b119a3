#!/usr/bin/env bash
# Install everything moss-py needs on a Debian 12 machine. Idempotent: each step checks
# first and does nothing when its part is already there, so a second run takes a second.
# Works as root without a terminal (CI=true) and through sudo otherwise.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD

step() { printf 'setup: %s\n' "$*"; }

if [ "$(id -u)" = 0 ]; then SUDO=(); else SUDO=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
apt_updated=0
apt_update() {
    if [ "$apt_updated" = 0 ]; then
        "${SUDO[@]}" apt-get update -qq
        apt_updated=1
    fi
}

# 1. System packages (host tools and the aarch64 cross toolchain).
APT_PKGS=(qemu-system-arm qemu-user gcc-aarch64-linux-gnu binutils-aarch64-linux-gnu
          libc6-dev-arm64-cross gdb-multiarch e2fsprogs cpio dosfstools mtools make
          gcc libc6-dev procps git mmdebstrap)
missing=()
for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    step "apt-get install ${missing[*]}"
    apt_update
    "${SUDO[@]}" apt-get install -y -qq -o Dpkg::Use-Pty=0 "${missing[@]}" >/dev/null
else
    step "system packages present"
fi

# 2. arm64 as a foreign architecture, so apt-get download can fetch Debian's arm64 packages.
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
    step "dpkg --add-architecture arm64 && apt-get update"
    "${SUDO[@]}" dpkg --add-architecture arm64
    apt_updated=0
    apt_update
elif ! ls /var/lib/apt/lists/*_binary-arm64_Packages* >/dev/null 2>&1; then
    step "apt-get update (no arm64 package lists yet)"
    apt_update
else
    step "arm64 architecture and package lists present"
fi

# 3. Debian arm64 packages extracted under build/debs/root (busybox for the initramfs).
step "scripts/fetch_debs.sh"
scripts/fetch_debs.sh

# 3b. A tmpfs with huge=always for guest RAM (moss_host/machine/hugeram.py): QEMU walks
# the host's page tables on every softmmu TLB refill, and Debian's /dev/shm gives 4 KiB
# pages. Optional: without it (no root, no THP, mount refused) guest RAM stays in /dev/shm.
HUGE_RAM_DIR=/run/moss-py-ram
if grep -qs " $HUGE_RAM_DIR tmpfs .*huge=" /proc/self/mounts; then
    step "huge-page tmpfs for guest RAM present ($HUGE_RAM_DIR)"
elif [ -d /sys/kernel/mm/transparent_hugepage ] \
     && "${SUDO[@]}" mkdir -p "$HUGE_RAM_DIR" \
     && "${SUDO[@]}" mount -t tmpfs -o huge=always,mode=1777,size=50% moss-py-ram "$HUGE_RAM_DIR" 2>/dev/null; then
    step "mounted a huge-page tmpfs for guest RAM at $HUGE_RAM_DIR"
else
    step "no huge-page tmpfs for guest RAM (guest RAM stays on 4 KiB pages in /dev/shm)"
fi

# 4. The Python package, editable, with the dev tools (just, pytest, hypothesis, ...).
# Checked from / so the source tree itself does not count as "installed", and the
# installed copy must be this checkout (a fresh clone elsewhere reinstalls).
CHECK='
import os, sys, importlib.util
missing = [m for m in ("pygdbmi", "pexpect", "elftools", "qemu.qmp", "pytest", "hypothesis", "matplotlib")
           if importlib.util.find_spec(m) is None]
import moss_host
if missing: sys.exit(1)
here = os.path.realpath(os.path.join(sys.argv[1], "moss_host"))
print("yes" if os.path.realpath(os.path.dirname(moss_host.__file__)) == here else "elsewhere")
'
installed=$(cd / && python3 -c "$CHECK" "$ROOT" 2>/dev/null || true)
if [ "$installed" = yes ] && command -v just >/dev/null && command -v moss-host >/dev/null; then
    step "python package moss_host installed (editable, this checkout)"
else
    PIP_FLAGS=(-q --disable-pip-version-check)
    [ "$(id -u)" != 0 ] || PIP_FLAGS+=(--root-user-action=ignore)
    # Debian's own python3 refuses pip installs (PEP 668) unless told otherwise.
    if python3 -c 'import sys, sysconfig, os; sys.exit(not os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED")))' \
       && [ -z "${VIRTUAL_ENV:-}" ]; then
        PIP_FLAGS+=(--break-system-packages)
    fi
    step "python3 -m pip install -e '.[dev]'"
    python3 -m pip install "${PIP_FLAGS[@]}" -e '.[dev]'
    if command -v pyenv >/dev/null; then pyenv rehash; fi
    hash -r
    if ! command -v just >/dev/null; then
        step "WARNING: 'just' was installed but is not on PATH ($(python3 -c 'import sysconfig; print(sysconfig.get_path("scripts"))'))"
    fi
fi
step "done"
