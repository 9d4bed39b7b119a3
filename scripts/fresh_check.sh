#!/usr/bin/env bash
# `just fresh-check`: the README's two commands on a clean clone of HEAD, as a new user
# (and CI) would run them, with nothing from this working tree to lean on:
#   - a clone of HEAD (committed work only) in a new temporary folder, without build/;
#   - a new, empty Python virtual environment (no site packages), so every Python package
#     must come from scripts/setup.sh; system packages are installed by setup.sh as usual;
#   - TMPDIR, XDG_CACHE_HOME (pip's cache) and XDG_RUNTIME_DIR pointing at empty folders;
#   - CI=true and no terminal for the test command, as in .ci/run.
# Then: `./scripts/setup.sh && just boot` driven through a pty (prompt, a command, poweroff)
# and `./scripts/setup.sh && just test` (arguments to this script are passed to pytest).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SRC=$PWD

if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    echo "fresh-check: note: uncommitted changes are not part of the check (it clones HEAD)"
fi
WORK=$(mktemp -d /var/tmp/moss-fresh.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/tmp" "$WORK/cache" "$WORK/run"
chmod 700 "$WORK/run"
git clone -q --no-hardlinks "$SRC" "$WORK/repo"
git -C "$WORK/repo" log -1 --format='fresh-check: HEAD %h %s'

python3 -m venv "$WORK/venv"
export VIRTUAL_ENV="$WORK/venv" PATH="$WORK/venv/bin:$PATH"
export TMPDIR="$WORK/tmp" XDG_CACHE_HOME="$WORK/cache" XDG_RUNTIME_DIR="$WORK/run"
export CI=true
unset PYTHONPATH MOSS_HOST

cd "$WORK/repo"
echo "fresh-check: 1/2 ./scripts/setup.sh && just boot (driven through a pty)"
# pexpect is not there yet: it arrives with setup.sh. Run setup once first, quietly, so
# that the driver can import it; the driven command runs setup.sh again (a second run is
# the idempotent, quick path, which is checked too).
./scripts/setup.sh
python3 scripts/boot_check.py
echo "fresh-check: 2/2 ./scripts/setup.sh && just test $*"
./scripts/setup.sh </dev/null && just test "$@" </dev/null
echo "fresh-check: passed"
