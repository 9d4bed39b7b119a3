#!/usr/bin/env bash
# Download Debian arm64 packages into build/debs/ and extract them into build/debs/root/.
#   scripts/fetch_debs.sh            the default set below
#   scripts/fetch_debs.sh PKG...     these packages (names without :arm64)
# A package whose .deb is already in build/debs/ is not downloaded again, and a .deb
# is extracted again only when it is newer than its stamp. Needs arm64 enabled in
# dpkg and its package lists (scripts/setup.sh does both).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

DEFAULT_PKGS=(busybox-static)
PKGS=("$@")
[ ${#PKGS[@]} -gt 0 ] || PKGS=("${DEFAULT_PKGS[@]}")

DEBS=build/debs
mkdir -p "$DEBS/root" "$DEBS/stamps"

for pkg in "${PKGS[@]}"; do
    shopt -s nullglob
    found=("$DEBS/${pkg}"_*_arm64.deb "$DEBS/${pkg}"_*_all.deb)
    shopt -u nullglob
    if [ ${#found[@]} -eq 0 ]; then
        echo "fetch_debs: apt-get download $pkg:arm64"
        # apt-get download writes into the current directory; as root, skip the _apt
        # sandbox user (it cannot write into build/ and apt would warn about it).
        sandbox=()
        [ "$(id -u)" != 0 ] || sandbox=(-o APT::Sandbox::User=root)
        if ! (cd "$DEBS" && apt-get download -qq "${sandbox[@]}" "$pkg:arm64"); then
            echo "fetch_debs: cannot download $pkg:arm64 (run scripts/setup.sh: arm64 architecture + apt-get update)" >&2
            exit 1
        fi
        shopt -s nullglob
        found=("$DEBS/${pkg}"_*_arm64.deb "$DEBS/${pkg}"_*_all.deb)
        shopt -u nullglob
    fi
    deb=${found[-1]}
    stamp="$DEBS/stamps/$pkg"
    if [ ! -e "$stamp" ] || [ "$deb" -nt "$stamp" ]; then
        echo "fetch_debs: extract $(basename "$deb") -> $DEBS/root"
        dpkg-deb -x "$deb" "$DEBS/root"
        touch "$stamp"
    else
        echo "fetch_debs: $pkg present"
    fi
done
