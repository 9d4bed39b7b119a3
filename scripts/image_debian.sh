#!/usr/bin/env bash
# Build build/debian.ext4: a Debian bookworm arm64 root for `just boot-debian`.
#   scripts/image_debian.sh            build it unless its inputs are unchanged
#   scripts/image_debian.sh --force    rebuild anyway (what the guest wrote into it is lost)
#
# Debian's own tools resolve the dependencies: `mmdebstrap --variant=extract` downloads the
# packages below and everything they depend on from this machine's apt sources and unpacks
# them into a directory. `extract` runs no maintainer script (no arm64 emulation needed), so
# the few things those scripts would do for this set are done here: /bin/sh and awk links,
# /etc/profile and root's dotfiles from base-files, byte-compiled python modules (py3compile).
# BusyBox is pid 1 (images/debian/etc/inittab); bash is the console's login shell.
# Then `mkfs.ext4 -d` makes the image (with room to spare) and `e2fsck -fn` checks it.
# A digest of the inputs (this script, the package list, images/debian/ and images/rootfs/
# files used, the apt sources) in build/debian.ext4.inputs decides whether to rebuild.
# Needs root (mmdebstrap's root mode keeps the packages' owners and device nodes, which
# `mkfs.ext4 -d` copies): CI runs as root; otherwise the script runs itself again via sudo.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
[ "$(id -u)" = 0 ] || exec sudo --preserve-env=TMPDIR "$PWD/scripts/image_debian.sh" "$@"

PKGS=(bash dash coreutils findutils grep sed gawk diffutils procps psmisc less util-linux
      python3 strace gdb busybox-static attr ncurses-base gzip libcap2-bin trinity stress-ng
      iputils-ping iproute2)
OUT=build/debian.ext4
STAMP=$OUT.inputs
ETC_FILES=(images/debian/etc/inittab images/debian/etc/passwd
           images/rootfs/etc/group images/rootfs/etc/fstab images/rootfs/etc/hostname)

say() { printf 'image-debian: %s\n' "$*"; }

force=0
[ "${1:-}" != --force ] || force=1

# This machine's apt sources, as mmdebstrap takes them (a file is pasted into the chroot's
# sources.list; .sources files are deb822).
sources=()
if [ -s /etc/apt/sources.list ] && grep -q '^[[:space:]]*deb' /etc/apt/sources.list; then
    sources+=(/etc/apt/sources.list)
fi
shopt -s nullglob
sources+=(/etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources)
shopt -u nullglob
if [ ${#sources[@]} -eq 0 ]; then
    say "no apt sources in /etc/apt: cannot fetch packages" >&2
    exit 1
fi
if ! command -v mmdebstrap >/dev/null; then
    say "mmdebstrap missing: run scripts/setup.sh" >&2
    exit 1
fi

digest=$( { cat "${BASH_SOURCE[0]}"; printf '%s\n' "${PKGS[@]}"
            for f in "${ETC_FILES[@]}" "${sources[@]}"; do printf '%s\n' "$f"; cat "$f"; done
          } | sha256sum | cut -d' ' -f1)
if [ "$force" = 0 ] && [ -f "$OUT" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$digest" ]; then
    say "$OUT up to date"
    exit 0
fi

mkdir -p build
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moss-debian.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"                  # apt downloads as _apt into it
root=$tmp/root

say "mmdebstrap --variant=extract bookworm arm64: ${PKGS[*]} and their dependencies"
mmdebstrap --mode=root --variant=extract --architectures=arm64 \
    --include="$(IFS=,; echo "${PKGS[*]}")" bookworm "$root" "${sources[@]}"

say "configuring what maintainer scripts would (sh, awk, profile, passwd, inittab)"
ln -sfn dash "$root/bin/sh"                                    # dash's postinst
mkdir -p "$root/etc/alternatives"
ln -sfn /usr/bin/gawk "$root/etc/alternatives/awk"             # update-alternatives
ln -sfn /etc/alternatives/awk "$root/usr/bin/awk"
for applet in init poweroff reboot halt; do        # BusyBox is the init system here
    ln -sfn /bin/busybox "$root/sbin/$applet"
done
for f in "${ETC_FILES[@]}"; do
    install -m 0644 "$f" "$root/etc/$(basename "$f")"
done
install -m 0644 "$root/usr/share/base-files/profile" "$root/etc/profile"    # base-files' postinst
install -m 0644 "$root/usr/share/base-files/dot.bashrc" "$root/root/.bashrc"
install -m 0644 "$root/usr/share/base-files/dot.profile" "$root/root/.profile"
mkdir -p "$root/mnt" "$root/tmp" "$root/run"
chmod 1777 "$root/tmp"

# py3compile's job: Debian ships no .pyc; python3 would compile (and try to write) each
# module at every first import. The .pyc embeds the guest path (-s strips, -p prepends).
pyver=$(basename "$(readlink -f "$root/usr/bin/python3")")      # python3.11
if [ "$(python3 -c 'import sys; print("python%d.%d" % sys.version_info[:2])')" = "$pyver" ]; then
    compile=(python3)
else
    compile=(qemu-aarch64 -L "$root" "$root/usr/bin/$pyver")
fi
say "byte-compiling /usr/lib/$pyver with ${compile[0]}"
"${compile[@]}" -m compileall -q -j 0 -s "$root" -p / "$root/usr/lib/$pyver" \
    "$root/usr/lib/python3/dist-packages" >/dev/null || true

# Size: what the tree holds plus half again and 256 MiB for what the guest writes.
used_mib=$(du -sm "$root" | cut -f1)
size_mib=$(( used_mib * 3 / 2 + 256 ))
say "mkfs.ext4 -d ($used_mib MiB of files, a ${size_mib} MiB image)"
rm -f "$OUT.tmp"
mkfs.ext4 -q -F -L moss-debian -E root_owner=0:0 -d "$root" "$OUT.tmp" "${size_mib}M"
if ! e2fsck -fn "$OUT.tmp" >"$tmp/fsck.log" 2>&1; then
    cat "$tmp/fsck.log" >&2
    say "e2fsck -fn found errors in $OUT.tmp" >&2
    exit 1
fi
mv "$OUT.tmp" "$OUT"
echo "$digest" >"$STAMP"
say "wrote $OUT ($(du -h --apparent-size "$OUT" | cut -f1), $(du -h "$OUT" | cut -f1) on disk); e2fsck -fn: clean"
