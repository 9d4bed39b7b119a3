#!/bin/sh
# The ext4 kill -9 test (tests/qemu/test_ext4_crash.py) with N trials (default 100), e.g.
#   scripts/crash_test.sh 100        MOSS_CRASH_SEED=123 scripts/crash_test.sh 20
# Prints one line per trial and the total; a failed trial keeps its image (the path is printed).
set -eu
cd "$(dirname "$0")/.."
MOSS_CRASH_TRIALS="${1:-100}" exec python3 -m pytest -q -s -p no:cacheprovider tests/qemu/test_ext4_crash.py
