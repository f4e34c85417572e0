#!/usr/bin/env bash
# Builds gotit (installing what is missing) and runs its tests.
# Usage: scripts/test.sh [BUILD_DIR [MESON_OPTION...]]
#   scripts/test.sh                       normal build in build/
#   scripts/test.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false
# Set GOTIT_TEST_SUITE=stress to run the stress suite instead of the default
# set. Ends with a line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
build_dir="${1:-build}"
shift || true

scripts/setup.sh "$build_dir" "$@" || { echo "0 passed, 1 failed"; exit 1; }

export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
suite_args=()
[[ -n "${GOTIT_TEST_SUITE:-}" ]] && suite_args=(--suite "$GOTIT_TEST_SUITE")

log="$build_dir/meson-logs/test-summary.txt"
meson test -C "$build_dir" --print-errorlogs "${suite_args[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

count() { awk -v key="$1" '$1 == key":" { print $2; found=1 } END { if (!found) print 0 }' "$log"; }
passed=$(count Ok)
failed=$(( $(count Fail) + $(count Timeout) + $(count "Unexpected") ))
if (( status != 0 && failed == 0 )); then failed=1; fi
echo "$passed passed, $failed failed"
exit "$status"
